// Command scheduler is the scheduler Lambda (an EventBridge rule every resources.SchedulerTick).
// Its handler is built by pkg/compose from the settings resources.Functions
// gives it, as in the sandbox and `make invoke`.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/contactsync/contactsync/pkg/compose"
)

func main() {
	lambda.Start(compose.MustLoad("scheduler").Scheduler().Handle)
}
