package provision_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/contactsync/contactsync/pkg/dev/provision"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/resources"
)

func TestStack_TableHasTTLAndIndexes(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	ttl, err := s.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(s.Table)})
	if err != nil {
		t.Fatal(err)
	}
	d := ttl.TimeToLiveDescription
	if d == nil || d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != resources.AttrExpiresAt {
		t.Fatalf("TTL = %+v, want ENABLED on %s", d, resources.AttrExpiresAt)
	}
	desc, err := s.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Table)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, g := range desc.Table.GlobalSecondaryIndexes {
		got[aws.ToString(g.IndexName)] = true
	}
	for _, g := range resources.MainTable(s.Table).GSIs {
		if !got[g.Name] {
			t.Errorf("index %s missing; table has %v", g.Name, got)
		}
	}
	// Provisioning again is a no-op, not an error.
	if err := provision.Table(ctx, s.DynamoDB, resources.MainTable(s.Table)); err != nil {
		t.Errorf("second provisioning: %v", err)
	}
}

func TestStack_TransactionWithFailingConditionRollsBack(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	ctx := context.Background()
	key := func(pk string) map[string]ddbtypes.AttributeValue {
		return map[string]ddbtypes.AttributeValue{"PK": &ddbtypes.AttributeValueMemberS{Value: pk}, "SK": &ddbtypes.AttributeValueMemberS{Value: "A"}}
	}
	put := func(pk string) ddbtypes.TransactWriteItem {
		return ddbtypes.TransactWriteItem{Put: &ddbtypes.Put{
			TableName:           aws.String(s.Table),
			Item:                key(pk),
			ConditionExpression: aws.String("attribute_not_exists(PK)"),
		}}
	}
	if _, err := s.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: key("T#1#P#+61412345678")}); err != nil {
		t.Fatal(err)
	}
	_, err := s.DynamoDB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		put("T#1#C#new"), put("T#1#P#+61412345678"),
	}})
	var canceled *ddbtypes.TransactionCanceledException
	if !errors.As(err, &canceled) {
		t.Fatalf("err = %v, want TransactionCanceledException", err)
	}
	if len(canceled.CancellationReasons) != 2 || aws.ToString(canceled.CancellationReasons[1].Code) != "ConditionalCheckFailed" {
		t.Errorf("reasons = %+v, want the second item ConditionalCheckFailed", canceled.CancellationReasons)
	}
	out, err := s.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: key("T#1#C#new"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item != nil {
		t.Errorf("first put of the failed transaction was written: %v", out.Item)
	}
}

func TestStack_MessageMovesToDLQAfterMaxReceives(t *testing.T) {
	t.Parallel()
	const maxReceive = 2
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(time.Second), stacktest.WithMaxReceiveCount(maxReceive))
	ctx := context.Background()
	if _, err := s.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.PagesQueueURL), MessageBody: aws.String(`{"page":1}`)}); err != nil {
		t.Fatal(err)
	}
	receives := 0
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.PagesQueueURL), MaxNumberOfMessages: 1, WaitTimeSeconds: 1, VisibilityTimeout: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		receives += len(out.Messages) // never deleted: a failing consumer
		dlq, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.PagesDLQURL), MaxNumberOfMessages: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
		if err != nil {
			t.Fatal(err)
		}
		if len(dlq.Messages) == 1 {
			if got := aws.ToString(dlq.Messages[0].Body); got != `{"page":1}` {
				t.Errorf("DLQ body = %q", got)
			}
			if receives != maxReceive {
				t.Errorf("moved to the DLQ after %d receives, want %d", receives, maxReceive)
			}
			return
		}
	}
	t.Fatalf("message not in the DLQ after %d receives", receives)
}

// TestStack_ConfiguredEndpointIsUsed runs this package's stack tests again
// in a child process whose environment names the already running stack, the
// way a developer aims the tests at LocalStack or a stack started by hand.
func TestStack_ConfiguredEndpointIsUsed(t *testing.T) {
	if os.Getenv("STACKTEST_CHILD") != "" {
		return
	}
	t.Parallel()
	stacktest.New(t) // makes sure a stack runs and the endpoint variables are known
	dynamo, sq := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), os.Getenv("AWS_ENDPOINT_URL")
	if dynamo == "" && sq == "" {
		t.Fatal("no endpoint variables after stacktest.New")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStack_(TableHasTTL|TransactionWith)", "-test.v")
	cmd.Env = append(os.Environ(), "STACKTEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child run failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestStack_TableHasTTLAndIndexes") {
		t.Fatalf("child did not run the stack tests:\n%s", out)
	}
}
