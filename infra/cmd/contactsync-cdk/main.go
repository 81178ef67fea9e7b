// Command contactsync-cdk is the CDK app: `cdk synth` runs it (see cdk.json).
package main

import (
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/contactsync/contactsync/infra/stack"
	"github.com/contactsync/contactsync/pkg/resources"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	assets := os.Getenv("CONTACTSYNC_ASSET_DIR")
	if assets == "" {
		assets = "../.build"
	}
	stack.New(app, "ContactSync", stack.Config{
		AssetDir:            assets,
		TableName:           resources.DefaultTableName,
		PagesQueue:          resources.DefaultPagesQueue,
		OutboxQueue:         resources.DefaultOutboxQueue,
		BulksyncConcurrency: 5,
		ThrottleRate:        50,
		ThrottleBurst:       100,
	}, nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
}
