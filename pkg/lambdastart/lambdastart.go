// Package lambdastart is the last step of every function's main: it wraps
// the handler for the Lambda runtime and starts serving. It imports nothing
// of ours, so the health function, which needs no configuration, links no
// more than before.
//
// With EnvExitWhenReady set, Start exits instead of serving, right after
// the handler is wrapped: BenchmarkFootprint (pkg/compose/footprint) runs
// each bootstrap that way to time its cold start up to a ready handler.
// The deployed stack never sets it.
package lambdastart

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

// EnvExitWhenReady makes Start exit (status 0) once the handler is ready.
const EnvExitWhenReady = "CONTACTSYNC_EXIT_WHEN_READY"

// Start serves handler (any form lambda.NewHandler takes) on Lambda.
func Start(handler any) {
	h := lambda.NewHandler(handler)
	if os.Getenv(EnvExitWhenReady) != "" {
		os.Exit(0)
	}
	lambda.Start(h)
}
