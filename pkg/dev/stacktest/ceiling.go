package stacktest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TxPerSecond measures the emulator's ceiling for the core of a new
// contact: conditional TransactWriteItems of three small items, total of
// them from workers goroutines. Benchmarks report their own throughput
// next to it. Keys are prefix#c#n, prefix#p#n and prefix#e#n.
func TxPerSecond(ctx context.Context, db *dynamodb.Client, table, prefix string, workers, total int) (float64, error) {
	item := func(pk string) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), ConditionExpression: aws.String("attribute_not_exists(PK)"),
			Item: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: "X"},
				"data": &types.AttributeValueMemberS{Value: "a contact-sized attribute value of some length for realism"}}}}
	}
	return parallel(workers, total, func(i int64) error {
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			item(fmt.Sprint(prefix, "#c#", i)), item(fmt.Sprint(prefix, "#p#", i)), item(fmt.Sprint(prefix, "#e#", i)),
		}})
		return err
	})
}

// MessagesPerSecond measures the SQS emulator's ceiling for a message's
// round trip as a consumer makes it: sent in batches of ten, received in
// batches of ten and deleted in batches, total messages from workers
// goroutines, on the queue at url (which must start empty).
func MessagesPerSecond(ctx context.Context, sq *sqs.Client, url string, workers, total int) (float64, error) {
	batches := (total + 9) / 10
	return parallel(workers, batches, func(i int64) error {
		entries := make([]sqstypes.SendMessageBatchRequestEntry, 10)
		for j := range entries {
			entries[j] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("m", j)), MessageBody: aws.String(fmt.Sprintf(`{"page":%d,"n":%d}`, i, j))}
		}
		if _, err := sq.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
			return err
		}
		for got := 0; got < 10; {
			out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				return err
			}
			if len(out.Messages) == 0 {
				break // another worker took ours; the total still balances
			}
			del := make([]sqstypes.DeleteMessageBatchRequestEntry, len(out.Messages))
			for j, m := range out.Messages {
				del[j] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("d", j)), ReceiptHandle: m.ReceiptHandle}
			}
			if _, err := sq.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del}); err != nil {
				return err
			}
			got += len(out.Messages)
		}
		return nil
	}, 10)
}

// parallel runs f(1..n) on workers goroutines and returns n×scale per
// second of wall time (scale defaults to 1).
func parallel(workers, n int, f func(i int64) error, scale ...int) (float64, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return 0, first
	}
	k := 1
	if len(scale) > 0 {
		k = scale[0]
	}
	return float64(n*k) / time.Since(start).Seconds(), nil
}
