package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/contactsync/contactsync/infra/internal/placeholder"
	"github.com/contactsync/contactsync/infra/stack"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/routes"
	"github.com/contactsync/contactsync/pkg/safehttp"
)

func TestStack(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	s := stack.New(app, "ContactSync", stack.Config{
		AssetDir: placeholder.Zips(t), TableName: resources.DefaultTableName,
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
		for _, f := range resources.Functions() {
			if f.SQSTrigger == "" {
				continue
			}
			es := f.EventSource
			if !es.ReportBatchItemFailures {
				t.Errorf("%s: partial batch responses off", f.Name)
			}
			tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
				"FunctionName":                   map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^" + f.Name + "[0-9A-F]{8}$"))},
				"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
				"BatchSize":                      es.BatchSize,
				"MaximumBatchingWindowInSeconds": es.MaxBatchingWindow.Seconds(),
				"ScalingConfig":                  map[string]any{"MaximumConcurrency": es.MaxConcurrency},
			})
		}
	})

	t.Run("stage_throttling", func(t *testing.T) {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"StageName":            "$default",
			"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100},
		})
	})

	t.Run("schedules_match_resources", func(t *testing.T) {
		rules := byType("AWS::Events::Rule")
		if len(rules) != len(resources.Schedules()) {
			t.Fatalf("%d rules, want %d (resources.Schedules)", len(rules), len(resources.Schedules()))
		}
		for _, sch := range resources.Schedules() {
			if sch.Rate != 15*time.Minute {
				t.Errorf("%s: rate %v; the scheduler's slots assume 15-minute ticks", sch.Name, sch.Rate)
			}
			tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
				"ScheduleExpression": fmt.Sprintf("rate(%d minutes)", int(sch.Rate.Minutes())),
				"State":              "ENABLED",
				"Targets": []any{map[string]any{
					"Arn": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^" + sch.Function + "[0-9A-F]{8}$")), "Arn"}},
					"Id":  assertions.Match_AnyValue(),
				}},
			})
		}
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

	// Logical ids by what they are.
	fnID := map[string]string{} // function name → logical id
	for _, f := range resources.Functions() {
		re := regexp.MustCompile("^" + f.Name + "[0-9A-F]{8}$")
		for id := range byType("AWS::Lambda::Function") {
			if re.MatchString(id) {
				fnID[f.Name] = id
			}
		}
		if fnID[f.Name] == "" {
			t.Fatalf("no function resource for %s", f.Name)
		}
	}
	one := func(typ string, pred func(map[string]any) bool) string {
		t.Helper()
		found := ""
		for id, p := range byType(typ) {
			if pred(p) {
				if found != "" {
					t.Fatalf("two %s match: %s, %s", typ, found, id)
				}
				found = id
			}
		}
		if found == "" {
			t.Fatalf("no %s matches", typ)
		}
		return found
	}
	t.Run("routes_are_what_the_code_serves", func(t *testing.T) {
		// Compared with pkg/routes (the serving code's own table), not with
		// stack.Routes(): both directions, and each to its function.
		idFn := map[string]string{}
		for fn, id := range fnID {
			idFn[id] = fn
		}
		integrationFn := map[string]string{}
		for id, p := range byType("AWS::ApiGatewayV2::Integration") {
			uri, _ := p["IntegrationUri"].(map[string]any)
			att, _ := uri["Fn::GetAtt"].([]any)
			if len(att) == 2 {
				fnRes, _ := att[0].(string)
				integrationFn[id] = idFn[fnRes]
			}
		}
		deployed := map[string]string{} // route key → function
		for id, p := range byType("AWS::ApiGatewayV2::Route") {
			key, _ := p["RouteKey"].(string)
			target := fmt.Sprint(p["Target"])
			fn := ""
			for in, f := range integrationFn {
				if strings.Contains(target, "map[Ref:"+in+"]") {
					fn = f
				}
			}
			if fn == "" {
				t.Errorf("route %s (%s): target %s is no function's integration", key, id, target)
			}
			if _, dup := deployed[key]; dup {
				t.Errorf("route %s deployed twice", key)
			}
			deployed[key] = fn
		}
		served := map[string]string{}
		for _, r := range routes.All() {
			served[r.Key()] = r.Function
		}
		for key, fn := range served {
			got, ok := deployed[key]
			switch {
			case !ok:
				t.Errorf("%s is served by %s but not deployed", key, fn)
			case got != fn:
				t.Errorf("%s is deployed to %s, served by %s", key, got, fn)
			}
		}
		for key, fn := range deployed {
			if _, ok := served[key]; !ok {
				t.Errorf("%s is deployed (to %s) but nothing serves it", key, fn)
			}
		}
		if len(served) < 22 {
			t.Errorf("only %d served routes: the table lost some", len(served))
		}
	})

	tableID := one("AWS::DynamoDB::Table", func(map[string]any) bool { return true })
	queueID := func(name string) string {
		return one("AWS::SQS::Queue", func(p map[string]any) bool { return p["QueueName"] == name })
	}
	secretID := func(descContains string) string {
		return one("AWS::SecretsManager::Secret", func(p map[string]any) bool {
			d, _ := p["Description"].(string)
			return strings.Contains(d, descContains)
		})
	}
	apiID := one("AWS::ApiGatewayV2::Api", func(map[string]any) bool { return true })
	keyID := one("AWS::KMS::Key", func(map[string]any) bool { return true })
	ref := func(id string) any { return map[string]any{"Ref": id} }
	// Each variable a function may get, and the resource its value must name.
	wantValue := map[string]any{
		"CONTACTSYNC_TABLE":               ref(tableID),
		"CONTACTSYNC_PAGES_QUEUE_URL":     ref(queueID(resources.DefaultPagesQueue)),
		"CONTACTSYNC_OUTBOX_QUEUE_URL":    ref(queueID(resources.DefaultOutboxQueue)),
		"CONTACTSYNC_PAGES_DLQ_URL":       ref(queueID(resources.DefaultPagesQueue + resources.DLQSuffix)),
		"CONTACTSYNC_SEAL_KEY_SECRET_ARN": ref(secretID("pkg/seal")),
		"HUB_ADMIN_TOKEN_SECRET_ARN":      ref(secretID("/admin/tenants")),
		"PUBLIC_BASE_URL":                 map[string]any{"Fn::GetAtt": []any{apiID, "ApiEndpoint"}},
		"CONTACTSYNC_PAGE_WINDOW":         strconv.Itoa(bulksyncWindow()),
	}
	envOf := func(fn string) map[string]any {
		p := byType("AWS::Lambda::Function")[fnID[fn]]
		e, _ := p["Environment"].(map[string]any)
		v, _ := e["Variables"].(map[string]any)
		return v
	}

	t.Run("function_env_is_what_main_reads", func(t *testing.T) {
		for _, f := range resources.Functions() {
			src, err := os.ReadFile(filepath.Join("..", "..", "functions", f.Name, "main.go"))
			if err != nil {
				t.Fatal(err)
			}
			code := string(src)
			if m := unsupportedRead.FindString(code); m != "" {
				t.Errorf("%s/main.go reads %q itself; functions load their settings through pkg/compose from resources.Functions", f.Name, m)
			}
			// What the function reads (pkg/compose loads exactly this).
			want := []string{}
			if f.Table {
				want = append(want, "CONTACTSYNC_TABLE")
			}
			for _, q := range f.Sends {
				want = append(want, map[string]string{
					resources.QueuePages: "CONTACTSYNC_PAGES_QUEUE_URL", resources.QueueOutbox: "CONTACTSYNC_OUTBOX_QUEUE_URL",
					resources.QueuePagesDLQ: "CONTACTSYNC_PAGES_DLQ_URL",
				}[q])
			}
			if f.SealKey {
				want = append(want, "CONTACTSYNC_SEAL_KEY_SECRET_ARN")
			}
			if f.AdminToken {
				want = append(want, "HUB_ADMIN_TOKEN_SECRET_ARN")
			}
			if f.PublicURL {
				want = append(want, "PUBLIC_BASE_URL")
			}
			if f.PageWindow > 0 {
				want = append(want, "CONTACTSYNC_PAGE_WINDOW")
			}
			env := envOf(f.Name)
			got := []string{}
			for k, v := range env {
				got = append(got, k)
				if w, ok := wantValue[k]; !ok {
					t.Errorf("%s: unexpected variable %s", f.Name, k)
				} else if fmt.Sprint(v) != fmt.Sprint(w) {
					t.Errorf("%s: %s = %v, want %v", f.Name, k, v, w)
				}
			}
			sort.Strings(want)
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s environment = %v, want exactly %v (resources.Functions, what pkg/compose loads)", f.Name, got, want)
			}
		}
		// One tenant cannot starve the others: the bulk-sync consumer
		// keeps each run's pages to the window resources defines.
		if got := envOf("bulksync")["CONTACTSYNC_PAGE_WINDOW"]; got != strconv.Itoa(bulksyncWindow()) || bulksyncWindow() <= 0 {
			t.Errorf("bulksync CONTACTSYNC_PAGE_WINDOW = %v, want %d (resources)", got, bulksyncWindow())
		}
		// The ones the review found missing.
		for fn, v := range map[string]string{
			"bulksync": "CONTACTSYNC_PAGES_DLQ_URL", "api": "HUB_ADMIN_TOKEN_SECRET_ARN",
			"webhook": "PUBLIC_BASE_URL", "inbound": "PUBLIC_BASE_URL", "outbox": "CONTACTSYNC_SEAL_KEY_SECRET_ARN",
		} {
			if envOf(fn)[v] == nil {
				t.Errorf("%s lacks %s", fn, v)
			}
		}
	})

	t.Run("no_function_may_reach_private_hosts", func(t *testing.T) {
		// The setting that lets outbound clients reach loopback fakes is for
		// local runs only: deployed, it would open the functions to SSRF.
		for fn := range fnID {
			if v, ok := envOf(fn)[safehttp.EnvAllowPrivateHosts]; ok {
				t.Errorf("%s: %s = %v; the deployed stack must never set it", fn, safehttp.EnvAllowPrivateHosts, v)
			}
		}
	})

	t.Run("no_plaintext_secrets", func(t *testing.T) {
		for fn := range fnID {
			for k, v := range envOf(fn) {
				if k == "CONTACTSYNC_SEAL_KEY" || k == "HUB_ADMIN_TOKEN" {
					t.Errorf("%s: %s is a plaintext environment value", fn, k)
				}
				if strings.HasSuffix(k, "_SECRET_ARN") {
					r, _ := v.(map[string]any)
					id, _ := r["Ref"].(string)
					if res[id] == nil || res[id].(map[string]any)["Type"] != "AWS::SecretsManager::Secret" {
						t.Errorf("%s: %s = %v, want a Ref to a secret", fn, k, v)
					}
				}
			}
		}
		secrets := byType("AWS::SecretsManager::Secret")
		if len(secrets) != 2 {
			t.Errorf("%d secrets, want 2 (seal key, admin token)", len(secrets))
		}
		for id, p := range secrets {
			if p["GenerateSecretString"] == nil || p["SecretString"] != nil {
				t.Errorf("%s: not generated by Secrets Manager at deploy time: %v", id, p)
			}
			if fmt.Sprint(p["KmsKeyId"]) != fmt.Sprint(map[string]any{"Fn::GetAtt": []any{keyID, "Arn"}}) {
				t.Errorf("%s: KmsKeyId = %v, want the stack's key", id, p["KmsKeyId"])
			}
		}
		// No value is resolved into the template either (dynamic references
		// end up in plaintext in the function configuration).
		b, _ := json.Marshal(raw)
		for _, s := range []string{"{{resolve:secretsmanager", "{{resolve:ssm-secure", `"SecretString"`} {
			if strings.Contains(string(b), s) {
				t.Errorf("template contains %s", s)
			}
		}
		// The seal key stays when the stack goes: the retained table's
		// sealed values need it.
		tpl.HasResource(jsii.String("AWS::SecretsManager::Secret"), map[string]any{
			"DeletionPolicy": "Retain", "Properties": map[string]any{"Description": assertions.Match_StringLikeRegexp(jsii.String("pkg/seal"))},
		})
	})

	t.Run("secret_and_queue_grants_scoped", func(t *testing.T) {
		roleFn := map[string]string{}
		for fn, id := range fnID {
			role := byType("AWS::Lambda::Function")[id]["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			roleFn[role] = fn
		}
		type grant struct {
			secrets, sends []string
			decrypt        bool
		}
		got := map[string]*grant{}
		for fn := range fnID {
			got[fn] = &grant{}
		}
		for id, p := range byType("AWS::IAM::Policy") {
			var fns []string
			for _, r := range list(p["Roles"]) {
				if fn, ok := roleFn[r.(map[string]any)["Ref"].(string)]; ok {
					fns = append(fns, fn)
				}
			}
			for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				m := st.(map[string]any)
				acts := []string{}
				for _, a := range list(m["Action"]) {
					acts = append(acts, a.(string))
				}
				res := list(m["Resource"])
				switch {
				case slices.ContainsFunc(acts, func(a string) bool { return strings.HasPrefix(a, "secretsmanager:") }):
					if !slices.Equal(acts, []string{"secretsmanager:GetSecretValue"}) {
						t.Errorf("%s: secrets actions %v, want only GetSecretValue", id, acts)
					}
					for _, r := range res {
						rid, _ := r.(map[string]any)["Ref"].(string)
						for _, fn := range fns {
							got[fn].secrets = append(got[fn].secrets, rid)
						}
					}
				case slices.ContainsFunc(acts, func(a string) bool { return strings.HasPrefix(a, "kms:") }):
					if !slices.Equal(acts, []string{"kms:Decrypt"}) || len(res) != 1 ||
						fmt.Sprint(res[0]) != fmt.Sprint(map[string]any{"Fn::GetAtt": []any{keyID, "Arn"}}) {
						t.Errorf("%s: kms statement %v, want kms:Decrypt on the key only", id, m)
					}
					cond, _ := m["Condition"].(map[string]any)
					eq, _ := cond["StringEquals"].(map[string]any)
					if !strings.Contains(fmt.Sprint(eq["kms:ViaService"]), "secretsmanager.") {
						t.Errorf("%s: kms:Decrypt not limited to calls through Secrets Manager: %v", id, cond)
					}
					for _, fn := range fns {
						got[fn].decrypt = true
					}
				case slices.Contains(acts, "sqs:SendMessage"):
					for _, r := range res {
						qid, _ := r.(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
						for _, fn := range fns {
							got[fn].sends = append(got[fn].sends, qid)
						}
					}
				}
			}
		}
		for fn := range fnID {
			var wantSecrets, wantSends []string
			for k, v := range envOf(fn) {
				r, _ := v.(map[string]any) // a plain value (the page window) names no resource
				id, _ := r["Ref"].(string)
				switch {
				case strings.HasSuffix(k, "_SECRET_ARN"):
					wantSecrets = append(wantSecrets, id)
				case strings.HasSuffix(k, "_URL") && k != "PUBLIC_BASE_URL":
					wantSends = append(wantSends, id)
				}
			}
			for _, l := range [][]string{wantSecrets, wantSends, got[fn].secrets, got[fn].sends} {
				sort.Strings(l)
			}
			if !slices.Equal(got[fn].secrets, wantSecrets) {
				t.Errorf("%s may read secrets %v, want exactly those in its environment %v", fn, got[fn].secrets, wantSecrets)
			}
			if got[fn].decrypt != (len(wantSecrets) > 0) {
				t.Errorf("%s: kms:Decrypt granted %v, but it reads %d secrets", fn, got[fn].decrypt, len(wantSecrets))
			}
			if !slices.Equal(got[fn].sends, wantSends) {
				t.Errorf("%s may send to %v, want exactly the queues in its environment %v", fn, got[fn].sends, wantSends)
			}
		}
		// health reads nothing and touches nothing but its logs.
		for id, p := range byType("AWS::IAM::Policy") {
			for _, r := range list(p["Roles"]) {
				if roleFn[r.(map[string]any)["Ref"].(string)] == "health" {
					t.Errorf("%s grants health more than its logs", id)
				}
			}
		}
	})

	t.Run("no_alarm_subscription_by_default", func(t *testing.T) {
		tpl.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0))
	})

	t.Run("no_dependency_cycles", func(t *testing.T) {
		deps := map[string][]string{}
		for id, r := range res {
			m := r.(map[string]any)
			deps[id] = refsIn(m["Properties"], res)
			for _, d := range list(m["DependsOn"]) {
				if s, ok := d.(string); ok {
					deps[id] = append(deps[id], s)
				}
			}
		}
		if c := findCycle(deps); c != nil {
			t.Fatalf("dependency cycle: %v", c)
		}
		// The functions take the API's URL: the API itself must not wait for them.
		for _, d := range reach(deps, apiID) {
			if res[d].(map[string]any)["Type"] == "AWS::Lambda::Function" {
				t.Errorf("the API depends on function %s", d)
			}
		}
	})
}

// unsupportedRead matches settings a function could read that the stack
// does not map (a new variable, a plaintext key, a queue resolved by name).
var unsupportedRead = regexp.MustCompile(`os\.Getenv\(|os\.LookupEnv|seal\.FromEnv|seal\.Load|awsenv\.NamesFrom|names\.(PagesQueue|OutboxQueue)\b`)

// refsIn lists the resources v refers to (Ref, Fn::GetAtt).
func refsIn(v any, res map[string]any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch k {
			case "Ref":
				if s, ok := e.(string); ok && res[s] != nil {
					out = append(out, s)
				}
			case "Fn::GetAtt":
				if l, ok := e.([]any); ok && len(l) > 0 {
					if s, ok := l[0].(string); ok && res[s] != nil {
						out = append(out, s)
					}
				}
			default:
				out = append(out, refsIn(e, res)...)
			}
		}
	case []any:
		for _, e := range x {
			out = append(out, refsIn(e, res)...)
		}
	}
	return out
}

// findCycle returns one dependency cycle, or nil.
func findCycle(deps map[string][]string) []string {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(string) []string
	visit = func(n string) []string {
		state[n] = active
		stack = append(stack, n)
		for _, d := range deps[n] {
			switch state[d] {
			case active:
				i := slices.Index(stack, d)
				return append(slices.Clone(stack[i:]), d)
			case unseen:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	ids := make([]string, 0, len(deps))
	for id := range deps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if state[id] == unseen {
			if c := visit(id); c != nil {
				return c
			}
		}
	}
	return nil
}

// reach lists every resource n depends on, directly or not.
func reach(deps map[string][]string, n string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		for _, d := range deps[n] {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(n)
	out := make([]string, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	return out
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

func TestFromContext(t *testing.T) {
	base := stack.Config{
		AssetDir: placeholder.Zips(t), TableName: resources.DefaultTableName,
		PagesQueue: resources.DefaultPagesQueue, OutboxQueue: resources.DefaultOutboxQueue,
		BulksyncConcurrency: 5, ThrottleRate: 50, ThrottleBurst: 100,
	}
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir: jsii.String(t.TempDir()),
		Context: &map[string]any{
			stack.ContextAlarmEmail:    "ops@example.com",
			stack.ContextPublicBaseURL: "https://hooks.example.com/",
		},
	})
	cfg, err := stack.FromContext(app, base)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AlarmEmail != "ops@example.com" || cfg.PublicBaseURL != "https://hooks.example.com" {
		t.Fatalf("cfg = %+v", cfg)
	}
	tpl := assertions.Template_FromStack(stack.New(app, "ContactSync", cfg, nil), nil)

	t.Run("alarm_email_subscribed", func(t *testing.T) {
		tpl.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(1))
		tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^Alarms"))},
		})
	})
	t.Run("custom_public_base_url", func(t *testing.T) {
		for _, fn := range []string{"webhook", "inbound", "api"} {
			tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
				"Role":        map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^" + fn + "ServiceRole")), "Arn"}},
				"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{"PUBLIC_BASE_URL": "https://hooks.example.com"})},
			})
		}
	})

	t.Run("bad_values_rejected", func(t *testing.T) {
		for _, ctx := range []map[string]any{
			{stack.ContextAlarmEmail: "not-an-address"},
			{stack.ContextAlarmEmail: "Ops <ops@example.com>"},
			{stack.ContextAlarmEmail: 42},
			{stack.ContextPublicBaseURL: "http://hooks.example.com"},
			{stack.ContextPublicBaseURL: "https://hooks.example.com/?x=1"},
			{stack.ContextPublicBaseURL: "hooks.example.com"},
		} {
			app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir()), Context: &ctx})
			if _, err := stack.FromContext(app, base); err == nil {
				t.Errorf("context %v accepted", ctx)
			}
		}
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
		if cfg, err := stack.FromContext(app, base); err != nil || cfg.AlarmEmail != "" || cfg.PublicBaseURL != "" {
			t.Errorf("no context: %+v, %v", cfg, err)
		}
	})
}

// bulksyncWindow is the bulk-sync consumer's page window per run.
func bulksyncWindow() int {
	f, _ := resources.FunctionByName("bulksync")
	return f.PageWindow
}
