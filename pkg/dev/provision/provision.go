// Package provision creates the resources of pkg/resources — the table with
// its GSIs and TTL, the queues with their DLQs and redrive policies — against
// whatever endpoint the clients were built for (the embedded stack,
// LocalStack or AWS). Every step is idempotent: existing resources are left
// as they are.
//
// The program localstack/provision wraps it; pkg/dev/stacktest calls it for each
// test's own table and queues.
package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/contactsync/contactsync/pkg/resources"
)

// DynamoDBAPI lists the DynamoDB calls provisioning makes.
type DynamoDBAPI interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// SQSAPI lists the SQS calls provisioning makes.
type SQSAPI interface {
	CreateQueue(context.Context, *sqs.CreateQueueInput, ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Table creates the table if it does not exist, waits until it is ACTIVE and
// enables TTL on its TTL attribute.
func Table(ctx context.Context, db DynamoDBAPI, t resources.Table) error {
	_, err := db.CreateTable(ctx, createTableInput(t))
	var inUse *ddbtypes.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("creating table %s: %w", t.Name, err)
	}
	if err := waitActive(ctx, db, t.Name); err != nil {
		return err
	}
	if t.TTLAttribute == "" {
		return nil
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(t.Name)})
	if err != nil {
		return fmt.Errorf("describing TTL of %s: %w", t.Name, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled &&
		aws.ToString(d.AttributeName) == t.TTLAttribute {
		return nil
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(t.Name),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enabling TTL on %s: %w", t.Name, err)
	}
	return nil
}

func createTableInput(t resources.Table) *dynamodb.CreateTableInput {
	attrs := map[string]resources.AttrType{}
	add := func(k resources.KeyAttr) {
		if k.Name != "" {
			attrs[k.Name] = k.Type
		}
	}
	keySchema := func(pk, sk resources.KeyAttr) []ddbtypes.KeySchemaElement {
		add(pk)
		ks := []ddbtypes.KeySchemaElement{{AttributeName: aws.String(pk.Name), KeyType: ddbtypes.KeyTypeHash}}
		if sk.Name != "" {
			add(sk)
			ks = append(ks, ddbtypes.KeySchemaElement{AttributeName: aws.String(sk.Name), KeyType: ddbtypes.KeyTypeRange})
		}
		return ks
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(t.Name),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:   keySchema(t.PartitionKey, t.SortKey),
	}
	for _, g := range t.GSIs {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(g.Name),
			KeySchema:  keySchema(g.PartitionKey, g.SortKey),
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		})
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(name), AttributeType: ddbtypes.ScalarAttributeType(attrs[name]),
		})
	}
	return in
}

func waitActive(ctx context.Context, db DynamoDBAPI, name string) error {
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("describing table %s: %w", name, err)
		}
		if out.Table.TableStatus == ddbtypes.TableStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for table %s: %w", name, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// QueueURLs maps queue name to URL for every queue created.
type QueueURLs map[string]string

// Queues creates each queue's DLQ first, then the queue with its redrive
// policy. CreateQueue is idempotent for identical attributes.
func Queues(ctx context.Context, q SQSAPI, queues []resources.Queue) (QueueURLs, error) {
	urls := QueueURLs{}
	for _, def := range queues {
		attrs := queueAttributes(def)
		if def.DeadLetter != nil {
			dlqURL, err := createQueue(ctx, q, def.DeadLetter.Name, queueAttributes(*def.DeadLetter))
			if err != nil {
				return nil, err
			}
			urls[def.DeadLetter.Name] = dlqURL
			arn, err := queueARN(ctx, q, dlqURL)
			if err != nil {
				return nil, err
			}
			policy, err := json.Marshal(map[string]string{
				"deadLetterTargetArn": arn,
				"maxReceiveCount":     strconv.Itoa(def.MaxReceiveCount),
			})
			if err != nil {
				return nil, fmt.Errorf("encoding redrive policy: %w", err)
			}
			attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = string(policy)
		}
		u, err := createQueue(ctx, q, def.Name, attrs)
		if err != nil {
			return nil, err
		}
		urls[def.Name] = u
	}
	return urls, nil
}

func queueAttributes(def resources.Queue) map[string]string {
	attrs := map[string]string{}
	if def.VisibilityTimeout > 0 {
		attrs[string(sqstypes.QueueAttributeNameVisibilityTimeout)] = strconv.Itoa(int(def.VisibilityTimeout / time.Second))
	}
	if def.RetentionPeriod > 0 {
		attrs[string(sqstypes.QueueAttributeNameMessageRetentionPeriod)] = strconv.Itoa(int(def.RetentionPeriod / time.Second))
	}
	return attrs
}

func createQueue(ctx context.Context, q SQSAPI, name string, attrs map[string]string) (string, error) {
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", fmt.Errorf("creating queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func queueARN(ctx context.Context, q SQSAPI, url string) (string, error) {
	out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("reading ARN of %s: %w", url, err)
	}
	return out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}
