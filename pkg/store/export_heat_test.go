package store

import "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// ItemSize is the store's estimate of an item's size in bytes (units.go),
// for the partition-heat meter (heat_test.go).
func ItemSize(item map[string]types.AttributeValue) int { return itemSize(item) }
