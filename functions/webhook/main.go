// Command webhook is the platform-webhook Lambda (API Gateway HTTP API).
// Its handler is built by pkg/compose/webhookfn from the settings
// resources.Functions gives it (compose.Load), as in the sandbox and `make
// invoke`; importing that package alone, the bootstrap links no other
// handler.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/compose/webhookfn"
)

func main() {
	lambda.Start(webhookfn.New(compose.MustLoad(webhookfn.Name)).Handle)
}
