// Command contactsync-cdk is the CDK app: `cdk synth` runs it (see cdk.json).
//
// Settings given as context (cdk.json or `cdk synth -c key=value`):
// alarmEmail (subscribe an address to the alarm topic) and publicBaseUrl
// (the https URL in front of the API, when a custom domain is used).
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/contactsync/contactsync/infra/stack"
	"github.com/contactsync/contactsync/pkg/resources"
)

func main() {
	defer jsii.Close()
	assets := os.Getenv("CONTACTSYNC_ASSET_DIR")
	if assets == "" {
		assets = "../.build"
	}
	if err := synth(awscdk.NewApp(nil), assets); err != nil {
		fmt.Fprintln(os.Stderr, "contactsync-cdk:", err)
		jsii.Close()
		os.Exit(1)
	}
}

// synth adds the stack (with the context settings applied) and cdk-nag's
// AwsSolutions checks to app and writes the cloud assembly.
func synth(app awscdk.App, assets string) error {
	cfg, err := stack.FromContext(app, stack.Config{
		AssetDir:            assets,
		TableName:           resources.DefaultTableName,
		PagesQueue:          resources.DefaultPagesQueue,
		OutboxQueue:         resources.DefaultOutboxQueue,
		BulksyncConcurrency: 5,
		ThrottleRate:        50,
		ThrottleBurst:       100,
	})
	if err != nil {
		return err
	}
	stack.New(app, "ContactSync", cfg, nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	return nil
}
