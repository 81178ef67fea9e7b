package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/resources"
)

func sAV(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// TestConditions_HoldExactlyWhereNamed runs each named condition as a
// conditional delete on DynamoDB, against an item that meets it and one
// that does not.
func TestConditions_HoldExactlyWhereNamed(t *testing.T) {
	s := stacktest.New(t)
	ctx := context.Background()
	stored := map[string]types.AttributeValue{"version": numAV(3), "contactId": sAV("c1"), "runId": sAV("r1"), "status": sAV("sending")}
	held := map[string]types.AttributeValue{"appliedHash": sAV("h1")}
	status := map[string]string{"#s": "status"}
	vals := func(k string, v types.AttributeValue) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{k: v}
	}
	cases := []struct {
		name, cond string
		item       map[string]types.AttributeValue // nil: no item
		names      map[string]string
		values     map[string]types.AttributeValue
		holds      bool
	}{
		{"absent: no item", condAbsent, nil, nil, nil, true},
		{"absent: an item", condAbsent, stored, nil, nil, false},
		{"exists: an item", condExists, stored, nil, nil, true},
		{"exists: no item", condExists, nil, nil, nil, false},
		{"version: the one read", condVersion, stored, nil, vals(":v", numAV(3)), true},
		{"version: moved on", condVersion, stored, nil, vals(":v", numAV(2)), false},
		{"owner: the owner", condOwner, stored, nil, vals(":o", sAV("c1")), true},
		{"owner: another contact", condOwner, stored, nil, vals(":o", sAV("c2")), false},
		{"held: holding the hash read", condHeld, held, nil, vals(":h", sAV("h1")), true},
		{"held: another hash", condHeld, held, nil, vals(":h", sAV("h2")), false},
		{"held: linked meanwhile", condHeld, map[string]types.AttributeValue{"appliedHash": sAV("h1"), "contactId": sAV("c1")}, nil, vals(":h", sAV("h1")), false},
		{"locked by: this run", condLockedBy, stored, nil, vals(":r", sAV("r1")), true},
		{"locked by: another run", condLockedBy, stored, nil, vals(":r", sAV("r2")), false},
		{"sending: sending", condSending, stored, status, vals(":sending", sAV("sending")), true},
		{"sending: finished", condSending, map[string]types.AttributeValue{"status": sAV("sent")}, status, vals(":sending", sAV("sending")), false},
	}
	for i, c := range cases {
		key := keyOf(fmt.Sprintf("T#t#COND#%d", i), "X")
		if c.item != nil {
			item := map[string]types.AttributeValue{"PK": key["PK"], "SK": key["SK"]}
			for k, v := range c.item {
				item[k] = v
			}
			if _, err := s.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.DynamoDB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(s.Table), Key: key, ConditionExpression: aws.String(c.cond),
			ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
		})
		if err != nil && !conditionFailed(err) {
			t.Fatalf("%s: %v", c.name, err)
		}
		if holds := err == nil; holds != c.holds {
			t.Errorf("%s: %s holds = %v, want %v", c.name, c.cond, holds, c.holds)
		}
	}
}

// TestKeyConditions_ReadWhatTheyName queries with each named key condition
// and filter and counts what comes back.
func TestKeyConditions_ReadWhatTheyName(t *testing.T) {
	s := stacktest.New(t)
	ctx := context.Background()
	for _, it := range []map[string]types.AttributeValue{
		{"PK": sAV("T#t#Q"), "SK": sAV("A#1"), "expiresAt": numAV(200), "GSI1PK": sAV("T#t#IX"), "GSI1SK": sAV("1")},
		{"PK": sAV("T#t#Q"), "SK": sAV("A#2"), "expiresAt": numAV(50), "GSI2PK": sAV("DUE#0"), "GSI2SK": sAV("100#a")},
		{"PK": sAV("T#t#Q"), "SK": sAV("B#1"), "expiresAt": numAV(300), "GSI2PK": sAV("DUE#0"), "GSI2SK": sAV("300#b")},
	} {
		if _, err := s.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name          string
		index, filter string
		key           string
		values        map[string]types.AttributeValue
		want          int
	}{
		{"partition", "", "", keyPartition, map[string]types.AttributeValue{":pk": sAV("T#t#Q")}, 3},
		{"prefix", "", "", keyPrefix, map[string]types.AttributeValue{":pk": sAV("T#t#Q"), ":p": sAV("A#")}, 2},
		{"live", "", filterLive, keyPartition, map[string]types.AttributeValue{":pk": sAV("T#t#Q"), ":now": numAV(100)}, 2},
		{"index 1", resources.GSI1, "", keyIndex1, map[string]types.AttributeValue{":pk": sAV("T#t#IX")}, 1},
		{"due", resources.GSI2, "", keyDue, map[string]types.AttributeValue{":pk": sAV("DUE#0"), ":up": sAV("200")}, 1},
	}
	for _, c := range cases {
		in := &dynamodb.QueryInput{TableName: aws.String(s.Table), KeyConditionExpression: aws.String(c.key), ExpressionAttributeValues: c.values}
		if c.index != "" {
			in.IndexName = aws.String(c.index)
		}
		if c.filter != "" {
			in.FilterExpression = aws.String(c.filter)
		}
		out, err := s.DynamoDB.Query(ctx, in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(out.Items) != c.want {
			t.Errorf("%s: %d items, want %d", c.name, len(out.Items), c.want)
		}
	}
}

type apiErr struct{ code string }

func (e apiErr) Error() string                 { return e.code }
func (e apiErr) ErrorCode() string             { return e.code }
func (e apiErr) ErrorMessage() string          { return e.code }
func (e apiErr) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

// TestConflictRetry_ExtendsTheSDKRetryerToTransactionConflicts: the store's
// writes carry conflictRetry, which makes the client's own retryer retry
// transaction conflicts (not failed conditions), after a short pause, and
// without drawing on its retry quota.
func TestConflictRetry_ExtendsTheSDKRetryerToTransactionConflicts(t *testing.T) {
	o := dynamodb.Options{Retryer: retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 10 })}
	conflictRetry(&o)
	r := o.Retryer
	cancelled := func(codes ...string) error {
		tc := &types.TransactionCanceledException{}
		for _, c := range codes {
			tc.CancellationReasons = append(tc.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
		}
		return fmt.Errorf("operation error: %w", tc)
	}
	for _, c := range []struct {
		err   error
		retry bool
	}{
		{cancelled("None", "TransactionConflict"), true},
		{cancelled("ThrottlingError"), true},
		{cancelled("ConditionalCheckFailed", "None"), false},
		{cancelled("ValidationError"), false},
		{apiErr{"TransactionConflictException"}, true},
		{apiErr{"ProvisionedThroughputExceededException"}, true}, // the SDK's own
		{&types.ConditionalCheckFailedException{}, false},
		{errors.New("other"), false},
	} {
		if got := r.IsErrorRetryable(c.err); got != c.retry {
			t.Errorf("IsErrorRetryable(%v) = %v, want %v", c.err, got, c.retry)
		}
	}
	conflict := cancelled("TransactionConflict")
	if d, err := r.RetryDelay(3, conflict); err != nil || d > 100*time.Millisecond {
		t.Errorf("RetryDelay(3, conflict) = %v, %v: want the store's short backoff", d, err)
	}
	// The standard retryer's quota (500 tokens) would refuse a retry long
	// before 1000 of them.
	for i := range 1000 {
		if _, err := r.(aws.RetryerV2).GetRetryToken(context.Background(), conflict); err != nil {
			t.Fatalf("conflict retry %d drew on the retry quota: %v", i, err)
		}
	}
	if r.MaxAttempts() != 10 {
		t.Errorf("MaxAttempts = %d: the client's", r.MaxAttempts())
	}
}
