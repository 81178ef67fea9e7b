package stack_test

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/contactsync/contactsync/infra/stack"
	"github.com/contactsync/contactsync/pkg/resources"
)

// placeholderZips writes a tiny zip per function so synthesis never depends
// on `make build` having run.
func placeholderZips(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range resources.Functions() {
		out, err := os.Create(filepath.Join(dir, f.Name+".zip"))
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(out)
		w, err := zw.Create("bootstrap")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "placeholder %s\n", f.Name)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestStack(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	s := stack.New(app, "ContactSync", stack.Config{
		AssetDir: placeholderZips(t), TableName: resources.DefaultTableName,
		PagesQueue: resources.DefaultPagesQueue, OutboxQueue: resources.DefaultOutboxQueue,
		BulksyncConcurrency: 5, ThrottleRate: 50, ThrottleBurst: 100,
	}, nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	tpl := assertions.Template_FromStack(s, nil)
	raw := *tpl.ToJSON()
	res := raw["Resources"].(map[string]any)
	t.Logf("synthesized template: %d resources", len(res))

	byType := func(typ string) map[string]map[string]any {
		out := map[string]map[string]any{}
		for id, r := range res {
			m := r.(map[string]any)
			if m["Type"] == typ {
				p, _ := m["Properties"].(map[string]any)
				out[id] = p
			}
		}
		return out
	}

	t.Run("cdk_nag_no_unsuppressed_errors", func(t *testing.T) {
		errs := assertions.Annotations_FromStack(s).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
		for _, e := range *errs {
			t.Errorf("%s: %v", *e.Id, e.Entry.Data)
		}
		warns := assertions.Annotations_FromStack(s).FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
		for _, w := range *warns {
			t.Logf("nag warning %s: %v", *w.Id, w.Entry.Data)
		}
	})

	t.Run("table_matches_resources", func(t *testing.T) {
		def := resources.MainTable(resources.DefaultTableName)
		gsis := []any{}
		for _, g := range def.GSIs {
			gsis = append(gsis, map[string]any{
				"IndexName": g.Name,
				"KeySchema": []any{
					map[string]any{"AttributeName": g.PartitionKey.Name, "KeyType": "HASH"},
					map[string]any{"AttributeName": g.SortKey.Name, "KeyType": "RANGE"},
				},
				"Projection": map[string]any{"ProjectionType": "ALL"},
			})
		}
		tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"TableName": def.Name,
			"KeySchema": []any{
				map[string]any{"AttributeName": def.PartitionKey.Name, "KeyType": "HASH"},
				map[string]any{"AttributeName": def.SortKey.Name, "KeyType": "RANGE"},
			},
			"BillingMode":                      "PAY_PER_REQUEST",
			"TimeToLiveSpecification":          map[string]any{"AttributeName": def.TTLAttribute, "Enabled": true},
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"DeletionProtectionEnabled":        true,
			"SSESpecification":                 map[string]any{"SSEEnabled": true},
			"GlobalSecondaryIndexes":           gsis,
		})
		tpl.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1))
	})

	t.Run("queues_and_dlqs_match_resources", func(t *testing.T) {
		for _, q := range resources.Queues(resources.DefaultPagesQueue, resources.DefaultOutboxQueue) {
			tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), map[string]any{
				"QueueName":              q.DeadLetter.Name,
				"SqsManagedSseEnabled":   true,
				"MessageRetentionPeriod": q.DeadLetter.RetentionPeriod.Seconds(),
			})
			tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), map[string]any{
				"QueueName":              q.Name,
				"VisibilityTimeout":      q.VisibilityTimeout.Seconds(),
				"MessageRetentionPeriod": q.RetentionPeriod.Seconds(),
				"SqsManagedSseEnabled":   true,
				"RedrivePolicy": map[string]any{
					"maxReceiveCount":     q.MaxReceiveCount,
					"deadLetterTargetArn": assertions.Match_AnyValue(),
				},
			})
		}
		tpl.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(4))
		tpl.ResourceCountIs(jsii.String("AWS::SQS::QueuePolicy"), jsii.Number(4)) // enforceSSL
	})

	t.Run("functions_match_resources", func(t *testing.T) {
		for _, f := range resources.Functions() {
			props := map[string]any{
				"Runtime":       "provided.al2023",
				"Architectures": []any{"arm64"},
				"Handler":       "bootstrap",
				"MemorySize":    f.MemoryMB,
				"Timeout":       f.Timeout.Seconds(),
			}
			if f.Name == "bulksync" {
				props["ReservedConcurrentExecutions"] = 5
			}
			tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), props)
		}
		tpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(float64(len(resources.Functions()))))
		for id, p := range byType("AWS::Lambda::Function") {
			if p["Runtime"] != "provided.al2023" {
				t.Errorf("%s runtime %v", id, p["Runtime"])
			}
		}
	})

	t.Run("event_source_mappings_report_batch_item_failures", func(t *testing.T) {
		esm := byType("AWS::Lambda::EventSourceMapping")
		want := 0
		for _, f := range resources.Functions() {
			if f.SQSTrigger != "" {
				want++
			}
		}
		if len(esm) != want {
			t.Fatalf("event source mappings = %d, want %d", len(esm), want)
		}
		tpl.AllResourcesProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
			"BatchSize":             10,
			"ScalingConfig":         map[string]any{"MaximumConcurrency": 5},
		})
	})

	t.Run("every_route", func(t *testing.T) {
		for _, r := range stack.Routes() {
			tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{
				"RouteKey": r.Method + " " + r.Path,
			})
		}
		tpl.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Route"), jsii.Number(float64(len(stack.Routes()))))
		tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"StageName":            "$default",
			"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100},
		})
	})

	t.Run("daily_schedule_targets_scheduler", func(t *testing.T) {
		tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"ScheduleExpression": "rate(1 day)",
			"State":              "ENABLED",
		})
	})

	t.Run("alarms_to_sns", func(t *testing.T) {
		// 2 DLQs + errors and throttles per function + 2 table throttles.
		want := 2 + 2*len(resources.Functions()) + 2
		tpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(float64(want)))
		tpl.AllResourcesProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"AlarmActions": assertions.Match_AnyValue(),
		})
	})

	t.Run("log_retention_one_year", func(t *testing.T) {
		tpl.ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(float64(len(resources.Functions()))))
		tpl.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 365})
	})

	t.Run("no_iam_wildcards", func(t *testing.T) {
		for id, p := range byType("AWS::IAM::Policy") {
			doc := p["PolicyDocument"].(map[string]any)
			for _, st := range doc["Statement"].([]any) {
				m := st.(map[string]any)
				for _, a := range list(m["Action"]) {
					if s, ok := a.(string); ok && strings.Contains(s, "*") {
						t.Errorf("%s: wildcard action %q", id, s)
					}
				}
				for _, r := range list(m["Resource"]) {
					if !allowedResource(r) {
						t.Errorf("%s: wildcard resource %v", id, r)
					}
				}
			}
		}
	})
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// allowedResource rejects "*" resources. The one documented exception is
// "<table arn>/index/*" (Fn::Join), needed to Query the GSIs.
func allowedResource(r any) bool {
	switch v := r.(type) {
	case string:
		return !strings.Contains(v, "*")
	case map[string]any:
		join, ok := v["Fn::Join"].([]any)
		if !ok {
			return true // Fn::GetAtt / Ref: a concrete ARN
		}
		parts := join[1].([]any)
		for i, p := range parts {
			if s, ok := p.(string); ok && strings.Contains(s, "*") {
				if s != "/index/*" || i != len(parts)-1 {
					return false
				}
			}
		}
		return true
	}
	return false
}
