package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ResealAPI is what ResealAll calls: a whole-table Scan (an operator's
// maintenance run, never a request path) and conditional updates.
type ResealAPI interface {
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Resealer seals a tenant's value again; it reports false when the value
// needs nothing (already sealed by the current key).
type Resealer func(tenant string, sealed []byte) ([]byte, bool, error)

// ResealCounts is what ResealAll did.
type ResealCounts struct {
	Seen, Resealed, Changed int // Changed: written meanwhile by someone else, left as it is
}

// ResealAll seals every stored secret again (step 3 of the seal-key
// rotation, pkg/seal): each connection's config, each tenant's SMS
// provider settings and notification signing secret. Each write is
// conditional on the value read, so a value written meanwhile (already
// sealed with the current key) is left alone. Values that do not open (another key, another table) fail the
// run, which can be repeated.
func ResealAll(ctx context.Context, db ResealAPI, table string, reseal Resealer) (ResealCounts, error) {
	var counts ResealCounts
	filter := expression.Name("SK").Equal(expression.Value(skTenant)).Or(expression.Name("SK").BeginsWith("CONN#")).
		Or(expression.Name("SK").Equal(expression.Value(skNotifyEndpoint)))
	proj := expression.NamesList(expression.Name("PK"), expression.Name("SK"), expression.Name("config"), expression.Name("smsProvider"), expression.Name("secret"))
	expr, err := expression.NewBuilder().WithFilter(filter).WithProjection(proj).Build()
	if err != nil {
		return counts, fmt.Errorf("building the scan: %w", err)
	}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), FilterExpression: expr.Filter(),
		ProjectionExpression: expr.Projection(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return counts, fmt.Errorf("scanning: %w", err)
		}
		for _, item := range page.Items {
			pk, _ := item["PK"].(*types.AttributeValueMemberS)
			sk, _ := item["SK"].(*types.AttributeValueMemberS)
			if pk == nil || sk == nil || !strings.HasPrefix(pk.Value, "T#") || strings.Contains(pk.Value[2:], "#") {
				continue
			}
			attr := "smsProvider"
			switch {
			case strings.HasPrefix(sk.Value, "CONN#"):
				attr = "config"
			case sk.Value == skNotifyEndpoint:
				attr = "secret" // the notification signing secret
			}
			old, _ := item[attr].(*types.AttributeValueMemberB)
			if old == nil || len(old.Value) == 0 {
				continue
			}
			counts.Seen++
			tenant := strings.TrimPrefix(pk.Value, "T#")
			sealed, changed, err := reseal(tenant, old.Value)
			if err != nil {
				return counts, fmt.Errorf("re-sealing %s of %s %s: %w", attr, tenant, sk.Value, err)
			}
			if !changed {
				continue
			}
			upd, err := expression.NewBuilder().
				WithUpdate(expression.Set(expression.Name(attr), expression.Value(sealed))).
				WithCondition(expression.Name(attr).Equal(expression.Value(old.Value))).Build()
			if err != nil {
				return counts, fmt.Errorf("building the update: %w", err)
			}
			_, err = db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: keyOf(pk.Value, sk.Value),
				UpdateExpression: upd.Update(), ConditionExpression: upd.Condition(), ExpressionAttributeNames: upd.Names(), ExpressionAttributeValues: upd.Values()})
			var ccf *types.ConditionalCheckFailedException
			switch {
			case errors.As(err, &ccf):
				counts.Changed++
			case err != nil:
				return counts, fmt.Errorf("writing %s of %s %s: %w", attr, tenant, sk.Value, err)
			default:
				counts.Resealed++
			}
		}
	}
	return counts, nil
}
