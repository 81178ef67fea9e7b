// Command scheduler is the scheduler Lambda (an EventBridge rule every resources.SchedulerTick).
// Its handler is built by pkg/compose/schedulerfn from the settings
// resources.Functions gives it (compose.Load), as in the sandbox and `make
// invoke`; importing that package alone, the bootstrap links no other
// handler.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/contactsync/contactsync/pkg/compose"
	"github.com/contactsync/contactsync/pkg/compose/schedulerfn"
)

func main() {
	lambda.Start(schedulerfn.New(compose.MustLoad(schedulerfn.Name)).Handle)
}
