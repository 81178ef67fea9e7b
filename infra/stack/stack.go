package stack

import (
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
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/resources"
)

// grants lists what each function may touch (least privilege).
type grants struct {
	tableWrite bool
	send       []string // queue names it sends to
	secrets    bool     // may encrypt/decrypt with the secrets key
}

var functionGrants = map[string]grants{
	"webhook":   {tableWrite: true, send: []string{"pages"}},
	"inbound":   {tableWrite: true, send: []string{"outbox"}, secrets: true},
	"api":       {tableWrite: true, send: []string{"pages"}, secrets: true},
	"scheduler": {tableWrite: true, send: []string{"pages"}},
	"bulksync":  {tableWrite: true, send: []string{"pages", "outbox"}, secrets: true},
	"outbox":    {tableWrite: true, secrets: true},
	"health":    {},
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
		Description:       jsii.String("contactsync: envelope key for connection and provider secrets; SNS alarm topic"),
	})
	key.GrantEncryptDecrypt(awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil))
	topic := awssns.NewTopic(s, jsii.String("Alarms"), &awssns.TopicProps{MasterKey: key, EnforceSSL: jsii.Bool(true)})
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
	queues := map[string]awssqs.Queue{}
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
	}

	env := map[string]*string{
		awsenv.EnvTable:          table.TableName(),
		awsenv.EnvPagesQueue:     queues["pages"].QueueName(),
		awsenv.EnvPagesQueueURL:  queues["pages"].QueueUrl(),
		awsenv.EnvOutboxQueue:    queues["outbox"].QueueName(),
		awsenv.EnvOutboxQueueURL: queues["outbox"].QueueUrl(),
	}

	fns := map[string]awslambda.Function{}
	for _, f := range resources.Functions() {
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
			Environment:  &env,
			LogGroup:     logs,
		}
		if f.Name == "bulksync" && cfg.BulksyncConcurrency > 0 {
			props.ReservedConcurrentExecutions = jsii.Number(float64(cfg.BulksyncConcurrency))
		}
		fn := awslambda.NewFunction(s, jsii.String(f.Name), props)
		fns[f.Name] = fn
		g := functionGrants[f.Name]
		if g.tableWrite {
			table.GrantReadWriteData(fn)
		} else {
			table.GrantReadData(fn)
		}
		for _, q := range g.send {
			queues[q].GrantSendMessages(fn)
		}
		if g.secrets {
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"),
				Resources: jsii.Strings(*key.KeyArn()),
			}))
		}
		if f.SQSTrigger != "" {
			q := queues[triggerQueue[f.SQSTrigger]]
			fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(q, &awslambdaeventsources.SqsEventSourceProps{
				BatchSize:               jsii.Number(10),
				MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(5)),
				ReportBatchItemFailures: jsii.Bool(true),
				MaxConcurrency:          jsii.Number(5),
			}))
		}
		alarm(f.Name+"Errors", fn.MetricErrors(nil), 0)
		alarm(f.Name+"Throttles", fn.MetricThrottles(nil), 0)
	}

	// HTTP API, routes of design.md section 6.
	api := awsapigatewayv2.NewHttpApi(s, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{CreateDefaultStage: jsii.Bool(false)})
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

	awsevents.NewRule(s, jsii.String("DailySchedule"), &awsevents.RuleProps{
		Schedule: awsevents.Schedule_Rate(awscdk.Duration_Days(jsii.Number(1))),
		Targets:  &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fns["scheduler"], nil)},
	})
	awscdk.NewCfnOutput(s, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{Value: api.ApiEndpoint()})
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
