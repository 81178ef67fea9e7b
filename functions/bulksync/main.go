// Command bulksync is the bulk-sync page consumer (SQS event source with ReportBatchItemFailures).
// Its handler is built by pkg/compose/bulksyncfn from the settings
// resources.Functions gives it (compose.Load), as in the sandbox and `make
// invoke`; importing that package alone, the bootstrap links no other
// handler.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/compose/bulksyncfn"
)

func main() {
	lambda.Start(bulksyncfn.New(compose.MustLoad(bulksyncfn.Name)).Handle)
}
