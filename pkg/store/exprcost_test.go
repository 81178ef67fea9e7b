package store

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The cost of one conditioned put of the apply path (a contact's
// "version = :v"), written with the SDK's expression builder and with a
// condition string: what decided that the apply path keeps named strings
// (conds.go).
func BenchmarkConditionBuilder(b *testing.B) {
	for b.Loop() {
		expr, err := expression.NewBuilder().WithCondition(expression.Name("version").Equal(expression.Value(int64(41)))).Build()
		if err != nil {
			b.Fatal(err)
		}
		_ = &types.Put{ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
	}
}

func BenchmarkConditionString(b *testing.B) {
	for b.Loop() {
		_ = &types.Put{ConditionExpression: aws.String("version = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": numAV(41)}}
	}
}
