// Command outbox is the outbound-SMS and write-back consumer (SQS event source with ReportBatchItemFailures).
// Its handler is built by pkg/compose/outboxfn from the settings
// resources.Functions gives it (compose.Load), as in the sandbox and `make
// invoke`; importing that package alone, the bootstrap links no other
// handler.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/compose/outboxfn"
)

func main() {
	lambda.Start(outboxfn.New(compose.MustLoad(outboxfn.Name)).Handle)
}
