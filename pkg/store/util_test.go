package store_test

import (
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func attributevalueUnmarshal(item map[string]types.AttributeValue, v any) error {
	return attributevalue.UnmarshalMap(item, v)
}
