package stack_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/contactsync/contactsync/infra/internal/placeholder"
	"github.com/contactsync/contactsync/infra/stack"
	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/resources"
)

// TestOAuthApps: the OAuth apps given as context reach exactly the
// functions resources.Functions says read them: the client id as a plain
// setting, the client secret only as the ARN of the operator's Secrets
// Manager secret (never a value in the template), with GetSecretValue on
// exactly those ARNs and nothing wider; cdk-nag stays clean.
func TestOAuthApps(t *testing.T) {
	platforms := []string{resources.OAuthShopify, resources.OAuthMailchimp, resources.OAuthKlaviyo}
	arnOf := func(p string) string {
		return "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:contactsync/oauth/" + p + "-AbC123"
	}
	ctx := map[string]any{}
	for _, p := range platforms {
		ctx[stack.ContextOAuthClientID(p)] = p + "-client-id"
		ctx[stack.ContextOAuthClientSecretARN(p)] = arnOf(p)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir()), Context: &ctx})
	cfg, err := stack.FromContext(app, stack.Config{
		AssetDir: placeholder.Zips(t), TableName: resources.DefaultTableName,
		PagesQueue: resources.DefaultPagesQueue, OutboxQueue: resources.DefaultOutboxQueue,
		BulksyncConcurrency: 5, ThrottleRate: 50, ThrottleBurst: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.OAuth) != len(platforms) {
		t.Fatalf("cfg.OAuth = %+v", cfg.OAuth)
	}
	s := stack.New(app, "ContactSync", cfg, nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	tpl := assertions.Template_FromStack(s, nil)
	raw := *tpl.ToJSON()
	res := raw["Resources"].(map[string]any)

	fns := map[string]map[string]any{} // function name → properties
	for id, r := range res {
		m := r.(map[string]any)
		if m["Type"] != "AWS::Lambda::Function" {
			continue
		}
		for _, f := range resources.Functions() {
			if regexp.MustCompile("^" + f.Name + "[0-9A-F]{8}$").MatchString(id) {
				fns[f.Name] = m["Properties"].(map[string]any)
			}
		}
	}
	envOf := func(fn string) map[string]any {
		e, _ := fns[fn]["Environment"].(map[string]any)
		v, _ := e["Variables"].(map[string]any)
		return v
	}
	roleOf := func(fn string) string {
		return fns[fn]["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	}

	t.Run("settings_where_resources_says", func(t *testing.T) {
		for _, f := range resources.Functions() {
			env := envOf(f.Name)
			for _, p := range platforms {
				want := slices.Contains(f.OAuthApps, p)
				id, arn := env[awsenv.EnvOAuthClientID(p)], env[awsenv.EnvOAuthClientSecretARN(p)]
				if !want {
					if id != nil || arn != nil {
						t.Errorf("%s gets the %s app (%v, %v); resources.Functions does not list it", f.Name, p, id, arn)
					}
					continue
				}
				if id != p+"-client-id" || arn != arnOf(p) {
					t.Errorf("%s: %s client id %v, secret ARN %v; want the plain id and the secret's ARN", f.Name, p, id, arn)
				}
			}
			for k := range env {
				if strings.HasSuffix(k, "_CLIENT_SECRET") {
					t.Errorf("%s: %s is a plaintext secret setting", f.Name, k)
				}
			}
		}
		if api := envOf("api"); api[awsenv.EnvPublicBaseURL] == nil {
			t.Error("the api function lacks PUBLIC_BASE_URL (the OAuth redirect URLs)")
		}
	})

	t.Run("no_secret_value_in_the_template", func(t *testing.T) {
		b, _ := json.Marshal(raw)
		for _, s := range []string{"{{resolve:secretsmanager", "{{resolve:ssm-secure", `"SecretString"`} {
			if strings.Contains(string(b), s) {
				t.Errorf("template contains %s", s)
			}
		}
		// The operator's secrets are referenced, not created (their value
		// never passes through CloudFormation).
		n := 0
		for _, r := range res {
			if r.(map[string]any)["Type"] == "AWS::SecretsManager::Secret" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d secrets in the stack, want the seal key and admin token only", n)
		}
	})

	t.Run("get_secret_value_on_exactly_those_arns", func(t *testing.T) {
		granted := map[string][]string{} // role → literal secret ARNs it may read
		for id, r := range res {
			m := r.(map[string]any)
			if m["Type"] != "AWS::IAM::Policy" {
				continue
			}
			p := m["Properties"].(map[string]any)
			for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := st.(map[string]any)
				acts := fmt.Sprint(st["Action"])
				for _, r := range list(st["Resource"]) {
					arn, ok := r.(string)
					if !ok || !strings.Contains(arn, ":secretsmanager:") {
						continue
					}
					if acts != "secretsmanager:GetSecretValue" {
						t.Errorf("%s: %v on %s, want only GetSecretValue", id, st["Action"], arn)
					}
					if strings.ContainsAny(arn, "*?") {
						t.Errorf("%s: wildcard secret ARN %s", id, arn)
					}
					for _, role := range list(p["Roles"]) {
						granted[role.(map[string]any)["Ref"].(string)] = append(granted[role.(map[string]any)["Ref"].(string)], arn)
					}
				}
			}
		}
		for _, f := range resources.Functions() {
			var want []string
			for _, p := range f.OAuthApps {
				want = append(want, arnOf(p))
			}
			got := granted[roleOf(f.Name)]
			sort.Strings(want)
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s may read the OAuth secrets %v, want exactly %v", f.Name, got, want)
			}
		}
	})

	t.Run("redirect_urls_output", func(t *testing.T) {
		out, _ := json.Marshal(raw["Outputs"].(map[string]any)["OAuthRedirectUrls"])
		for _, p := range platforms {
			if !strings.Contains(string(out), "/oauth/"+p+"/callback") {
				t.Errorf("OAuthRedirectUrls %s lacks %s's callback", out, p)
			}
		}
	})

	t.Run("cdk_nag_no_unsuppressed_errors", func(t *testing.T) {
		errs := assertions.Annotations_FromStack(s).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
		for _, e := range *errs {
			t.Errorf("%s: %v", *e.Id, e.Entry.Data)
		}
	})
}

func TestOAuthApps_BadContextRejected(t *testing.T) {
	base := stack.Config{AssetDir: placeholder.Zips(t)}
	const pasted = "shpss_0123456789abcdef0123456789abcdef"
	for _, ctx := range []map[string]any{
		{stack.ContextOAuthClientID(resources.OAuthShopify): "id"},
		{stack.ContextOAuthClientSecretARN(resources.OAuthKlaviyo): "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbC123"},
		{stack.ContextOAuthClientID(resources.OAuthShopify): "id", stack.ContextOAuthClientSecretARN(resources.OAuthShopify): pasted},
		{stack.ContextOAuthClientID(resources.OAuthShopify): "id", stack.ContextOAuthClientSecretARN(resources.OAuthShopify): "arn:aws:secretsmanager:us-east-1:123456789012:secret:*"},
		{stack.ContextOAuthClientID(resources.OAuthShopify): "id", stack.ContextOAuthClientSecretARN(resources.OAuthShopify): "arn:aws:ssm:us-east-1:123456789012:parameter/x"},
		{stack.ContextOAuthClientID(resources.OAuthMailchimp): "an id with spaces", stack.ContextOAuthClientSecretARN(resources.OAuthMailchimp): "arn:aws:secretsmanager:us-east-1:123456789012:secret:m-AbC123"},
	} {
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir()), Context: &ctx})
		_, err := stack.FromContext(app, base)
		if err == nil {
			t.Errorf("context %v accepted", ctx)
		} else if strings.Contains(err.Error(), pasted) {
			t.Errorf("the error echoes what was given as the secret's ARN: %v", err)
		}
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	if cfg, err := stack.FromContext(app, base); err != nil || cfg.OAuth != nil {
		t.Errorf("no context: %+v, %v", cfg.OAuth, err)
	}
}
