package stack

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/seal"
)

// queueURLEnv is the variable that carries each sendable queue's URL.
var queueURLEnv = map[string]string{
	resources.QueuePages:    awsenv.EnvPagesQueueURL,
	resources.QueueOutbox:   awsenv.EnvOutboxQueueURL,
	resources.QueuePagesDLQ: awsenv.EnvPagesDLQURL,
}

// triggerQueue maps resources.Function.SQSTrigger (a default queue name) to
// the queue's logical name in the stack, so renamed queues still wire up.
var triggerQueue = map[string]string{
	resources.DefaultPagesQueue:  "pages",
	resources.DefaultOutboxQueue: "outbox",
}

// New builds the stack from cfg.
func New(scope constructs.Construct, id string, cfg Config, props *awscdk.StackProps) awscdk.Stack {
	s := awscdk.NewStack(scope, jsii.String(id), props)

	key := awskms.NewKey(s, jsii.String("SecretsKey"), &awskms.KeyProps{
		EnableKeyRotation: jsii.Bool(true),
		Description:       jsii.String("contactsync: encrypts the Secrets Manager secrets (seal key, admin token) and the SNS alarm topic"),
	})
	key.GrantEncryptDecrypt(awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil))
	topic := awssns.NewTopic(s, jsii.String("Alarms"), &awssns.TopicProps{MasterKey: key, EnforceSSL: jsii.Bool(true)})
	if cfg.AlarmEmail != "" {
		// AWS mails a confirmation link; alarms reach the address once it is followed.
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlarmEmail), nil))
	}
	alarm := func(id string, m awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(s, jsii.String(id), &awscloudwatch.AlarmProps{
			Metric:             m,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	}

	// Table, exactly as resources.MainTable defines it.
	def := resources.MainTable(cfg.TableName)
	table := awsdynamodb.NewTable(s, jsii.String("Table"), &awsdynamodb.TableProps{
		TableName:                        jsii.String(def.Name),
		PartitionKey:                     attr(def.PartitionKey),
		SortKey:                          attr(def.SortKey),
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		DeletionProtection:               jsii.Bool(true),
		Encryption:                       awsdynamodb.TableEncryption_AWS_MANAGED,
		TimeToLiveAttribute:              jsii.String(def.TTLAttribute),
		RemovalPolicy:                    awscdk.RemovalPolicy_RETAIN,
	})
	for _, g := range def.GSIs {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName: jsii.String(g.Name), PartitionKey: attr(g.PartitionKey), SortKey: attr(g.SortKey),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	for _, m := range []string{"ReadThrottleEvents", "WriteThrottleEvents"} {
		alarm("Table"+m, awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/DynamoDB"), MetricName: jsii.String(m),
			DimensionsMap: &map[string]*string{"TableName": table.TableName()},
			Statistic:     jsii.String("Sum"),
		}), 0)
	}

	// Queues with DLQs from resources.Queues; logical names "pages", "outbox".
	queues, dlqs := map[string]awssqs.Queue{}, map[string]awssqs.Queue{}
	logical := []string{"pages", "outbox"}
	for i, q := range resources.Queues(cfg.PagesQueue, cfg.OutboxQueue) {
		id := logical[i]
		dlq := awssqs.NewQueue(s, jsii.String(id+"DLQ"), &awssqs.QueueProps{
			QueueName:         jsii.String(q.DeadLetter.Name),
			VisibilityTimeout: seconds(q.DeadLetter.VisibilityTimeout.Seconds()),
			RetentionPeriod:   seconds(q.DeadLetter.RetentionPeriod.Seconds()),
			Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:        jsii.Bool(true),
		})
		alarm(id+"DLQDepth", dlq.MetricApproximateNumberOfMessagesVisible(nil), 0)
		work := awssqs.NewQueue(s, jsii.String(id+"Queue"), &awssqs.QueueProps{
			QueueName:         jsii.String(q.Name),
			VisibilityTimeout: seconds(q.VisibilityTimeout.Seconds()),
			RetentionPeriod:   seconds(q.RetentionPeriod.Seconds()),
			Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:        jsii.Bool(true),
			DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(float64(q.MaxReceiveCount))},
		})
		queues[id] = work
		dlqs[id] = dlq
	}
	sendable := map[string]awssqs.Queue{resources.QueuePages: queues["pages"], resources.QueueOutbox: queues["outbox"], resources.QueuePagesDLQ: dlqs["pages"]}

	// Secrets the functions read once at cold start. Only their ARNs go into
	// the Lambda environment; the values never appear in the template or the
	// function configuration. Encrypted with the customer key, generated by
	// Secrets Manager at deploy time.
	sealKey := awssecretsmanager.NewSecret(s, jsii.String("SealKey"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("contactsync: key material for sealing connection and SMS-provider secrets in the table (pkg/seal)"),
		EncryptionKey: key,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength: jsii.Number(64), ExcludePunctuation: jsii.Bool(true), IncludeSpace: jsii.Bool(false),
		},
		// The table is retained; so is the key that opens its sealed values.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	adminToken := awssecretsmanager.NewSecret(s, jsii.String("AdminToken"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("contactsync: bearer token of POST /admin/tenants"),
		EncryptionKey: key,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength: jsii.Number(48), ExcludePunctuation: jsii.Bool(true), IncludeSpace: jsii.Bool(false),
		},
	})
	suppressSecretRotation(sealKey, adminToken)

	// HTTP API. Functions take its URL as PUBLIC_BASE_URL: that references
	// only the AWS::ApiGatewayV2::Api resource, which depends on no function
	// (routes, integrations and permissions do), so there is no cycle.
	api := awsapigatewayv2.NewHttpApi(s, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{CreateDefaultStage: jsii.Bool(false)})
	publicURL := api.ApiEndpoint() // $default stage: no stage segment in the path
	if cfg.PublicBaseURL != "" {
		publicURL = jsii.String(cfg.PublicBaseURL)
	}

	fns := map[string]awslambda.Function{}
	for _, f := range resources.Functions() {
		// What f reads and may touch comes from resources.Functions (the
		// same definitions pkg/compose loads and the sandbox runs with): a
		// function gets a setting exactly when it gets the permission
		// behind it, and no function sees a secret it does not use.
		n := f
		env := map[string]*string{}
		if n.Table {
			env[awsenv.EnvTable] = table.TableName()
		}
		for _, q := range n.Sends {
			env[queueURLEnv[q]] = sendable[q].QueueUrl()
		}
		if n.SealKey {
			env[seal.EnvKeySecretARN] = sealKey.SecretArn()
		}
		if n.AdminToken {
			env[awsenv.EnvAdminTokenSecretARN] = adminToken.SecretArn()
		}
		if n.PublicURL {
			env[awsenv.EnvPublicBaseURL] = publicURL
		}
		if n.PageWindow > 0 {
			// The pages a run keeps queued at once (pkg/bulksync's window).
			env[awsenv.EnvPageWindow] = jsii.String(strconv.Itoa(n.PageWindow))
		}
		// The OAuth apps it reads: the client id in plain, the client
		// secret's ARN (the operator's secret; read at cold start).
		var oauthSecrets []*string
		for _, platform := range n.OAuthApps {
			app, ok := cfg.OAuth[platform]
			if !ok {
				continue
			}
			env[awsenv.EnvOAuthClientID(platform)] = jsii.String(app.ClientID)
			env[awsenv.EnvOAuthClientSecretARN(platform)] = jsii.String(app.ClientSecretARN)
			oauthSecrets = append(oauthSecrets, jsii.String(app.ClientSecretARN))
		}
		logs := awslogs.NewLogGroup(s, jsii.String(f.Name+"Logs"), &awslogs.LogGroupProps{
			Retention:     awslogs.RetentionDays_ONE_YEAR,
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		props := &awslambda.FunctionProps{
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         awslambda.Code_FromAsset(jsii.String(cfg.zip(f.Name)), nil),
			MemorySize:   jsii.Number(float64(f.MemoryMB)),
			Timeout:      seconds(f.Timeout.Seconds()),
			LogGroup:     logs,
		}
		if len(env) > 0 {
			props.Environment = &env
		}
		if f.Name == "bulksync" && cfg.BulksyncConcurrency > 0 {
			props.ReservedConcurrentExecutions = jsii.Number(float64(cfg.BulksyncConcurrency))
		}
		fn := awslambda.NewFunction(s, jsii.String(f.Name), props)
		fns[f.Name] = fn
		if n.Table {
			table.GrantReadWriteData(fn)
		}
		for _, q := range n.Sends {
			sendable[q].GrantSendMessages(fn)
		}
		for _, q := range n.Consumes {
			sendable[q].GrantConsumeMessages(fn)
		}
		var secrets []*string
		if n.SealKey {
			secrets = append(secrets, sealKey.SecretArn())
		}
		if n.AdminToken {
			secrets = append(secrets, adminToken.SecretArn())
		}
		if len(oauthSecrets) > 0 {
			// The operator's secrets (encrypted with the account's
			// aws/secretsmanager key, whose policy lets Secrets Manager
			// decrypt for a caller it authorised): GetSecretValue on
			// exactly those ARNs.
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
				Resources: &oauthSecrets,
			}))
		}
		if len(secrets) > 0 {
			// GetSecretValue on exactly these secrets, and Decrypt with the
			// key only when Secrets Manager asks on the function's behalf.
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
				Resources: &secrets,
			}))
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("kms:Decrypt"),
				Resources: jsii.Strings(*key.KeyArn()),
				Conditions: &map[string]any{"StringEquals": map[string]any{
					"kms:ViaService": "secretsmanager." + *s.Region() + ".amazonaws.com",
				}},
			}))
		}
		if f.SQSTrigger != "" {
			q := queues[triggerQueue[f.SQSTrigger]]
			es := f.EventSource
			fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(q, &awslambdaeventsources.SqsEventSourceProps{
				BatchSize:               jsii.Number(float64(es.BatchSize)),
				MaxBatchingWindow:       seconds(es.MaxBatchingWindow.Seconds()),
				ReportBatchItemFailures: jsii.Bool(es.ReportBatchItemFailures),
				MaxConcurrency:          jsii.Number(float64(es.MaxConcurrency)),
			}))
		}
		alarm(f.Name+"Errors", fn.MetricErrors(nil), 0)
		alarm(f.Name+"Throttles", fn.MetricThrottles(nil), 0)
	}

	// Routes of design.md section 6.
	awsapigatewayv2.NewHttpStage(s, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi: api, StageName: jsii.String("$default"), AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(cfg.ThrottleRate), BurstLimit: jsii.Number(cfg.ThrottleBurst)},
	})
	integrations := map[string]awsapigatewayv2.HttpRouteIntegration{}
	for _, r := range Routes() {
		in, ok := integrations[r.Function]
		if !ok {
			in = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(r.Function+"Integration"), fns[r.Function], nil)
			integrations[r.Function] = in
		}
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path: jsii.String(r.Path), Methods: &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)}, Integration: in,
		})
	}

	// Schedules from resources.Schedules (the sandbox fires the same ticks).
	for _, sch := range resources.Schedules() {
		awsevents.NewRule(s, jsii.String(sch.Name), &awsevents.RuleProps{
			Schedule: awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(sch.Rate.Minutes()))),
			Targets:  &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fns[sch.Function], nil)},
		})
	}
	awscdk.NewCfnOutput(s, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{Value: api.ApiEndpoint()})
	awscdk.NewCfnOutput(s, jsii.String("PublicBaseUrl"), &awscdk.CfnOutputProps{Value: publicURL})
	awscdk.NewCfnOutput(s, jsii.String("AdminTokenSecretArn"), &awscdk.CfnOutputProps{
		Value:       adminToken.SecretArn(),
		Description: jsii.String("aws secretsmanager get-secret-value --secret-id <this> --query SecretString --output text"),
	})
	awscdk.NewCfnOutput(s, jsii.String("SealKeySecretArn"), &awscdk.CfnOutputProps{Value: sealKey.SecretArn()})
	// The redirect URLs to register in each platform's app settings
	// (WooCommerce has no app: its key page calls back the same way).
	awscdk.NewCfnOutput(s, jsii.String("OAuthRedirectUrls"), &awscdk.CfnOutputProps{
		Value: awscdk.Fn_Join(jsii.String(" "), &[]*string{
			awscdk.Fn_Join(jsii.String(""), &[]*string{publicURL, jsii.String("/oauth/shopify/callback")}),
			awscdk.Fn_Join(jsii.String(""), &[]*string{publicURL, jsii.String("/oauth/mailchimp/callback")}),
			awscdk.Fn_Join(jsii.String(""), &[]*string{publicURL, jsii.String("/oauth/klaviyo/callback")}),
		}),
		Description: jsii.String("register these as the OAuth apps' redirect URLs (Shopify, Mailchimp, Klaviyo)"),
	})
	suppress(s)
	return s
}

func attr(k resources.KeyAttr) *awsdynamodb.Attribute {
	t := awsdynamodb.AttributeType_STRING
	if k.Type == resources.Number {
		t = awsdynamodb.AttributeType_NUMBER
	}
	return &awsdynamodb.Attribute{Name: jsii.String(k.Name), Type: t}
}

func seconds(s float64) awscdk.Duration { return awscdk.Duration_Seconds(jsii.Number(s)) }
