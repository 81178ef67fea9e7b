package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Connection statuses other than active ("").
const (
	StatusDraft                = "draft"
	StatusNeedsReauthorization = "needs_reauthorization"
)

const skOAuth = "OAUTH"

func oauthPK(t, nonce string) string { return "T#" + t + "#OAUTH#" + nonce }

// OAuthAttempt is one authorisation under way: written by
// POST /v1/connections/authorize, keyed by the state's nonce, and taken
// (deleted, conditionally) by its callback, so a state is used once.
type OAuthAttempt struct {
	TenantID string `dynamodbav:"tenantId"`
	Nonce    string `dynamodbav:"nonce"`
	Platform string `dynamodbav:"platform"`
	Label    string `dynamodbav:"label,omitempty"`
	// Shop (Shopify) or StoreURL (WooCommerce) the attempt is for.
	Shop      string `dynamodbav:"shop,omitempty"`
	StoreURL  string `dynamodbav:"storeUrl,omitempty"`
	ReturnURL string `dynamodbav:"returnUrl"`
	// Verifier is the PKCE code verifier (Klaviyo), sealed by the caller.
	Verifier []byte `dynamodbav:"verifier,omitempty"`
	// ReauthorizeID is the connection a new authorisation is for ("": a
	// new connection).
	ReauthorizeID string `dynamodbav:"reauthorizeId,omitempty"`
	// ConnectionID is the connection WooCommerce's key delivery created
	// (ClaimOAuthAttempt); the browser's return reads it.
	ConnectionID string    `dynamodbav:"connectionId,omitempty"`
	Expires      time.Time `dynamodbav:"expires"`
	ExpiresAt    int64     `dynamodbav:"expiresAt"` // TTL
}

type oauthItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	OAuthAttempt
}

// PutOAuthAttempt stores a new attempt; DynamoDB's TTL removes it a day
// after it expires (reads check Expires themselves).
func (s *Store) PutOAuthAttempt(ctx context.Context, a OAuthAttempt) error {
	if !keyable(a.TenantID) || !keyable(a.Nonce) {
		return fmt.Errorf("storing OAuth attempt: bad key")
	}
	a.ExpiresAt = a.Expires.Add(24 * time.Hour).Unix()
	av, err := marshalMap(oauthItem{PK: oauthPK(a.TenantID, a.Nonce), SK: skOAuth, OAuthAttempt: a})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String(condAbsent)})
	if err != nil {
		return fmt.Errorf("storing OAuth attempt: %w", err)
	}
	return nil
}

// TakeOAuthAttempt deletes the attempt and returns it, once: a second take
// (a replayed callback) or an unknown nonce gets ErrNotFound.
func (s *Store) TakeOAuthAttempt(ctx context.Context, tenant, nonce string) (OAuthAttempt, error) {
	if !keyable(tenant) || !keyable(nonce) {
		return OAuthAttempt{}, ErrNotFound
	}
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: keyOf(oauthPK(tenant, nonce), skOAuth),
		ConditionExpression: aws.String(condExists), ReturnValues: types.ReturnValueAllOld,
	})
	if err = written(err, ErrNotFound, "taking OAuth attempt"); err != nil {
		return OAuthAttempt{}, err
	}
	var it oauthItem
	return it.OAuthAttempt, unmarshalMap(out.Attributes, &it)
}

// ClaimOAuthAttempt records the connection a key delivery (WooCommerce)
// created, once: a second delivery for the same attempt, or an unknown
// one, gets ErrNotFound. The attempt stays for the browser's return.
func (s *Store) ClaimOAuthAttempt(ctx context.Context, tenant, nonce, connID string) (OAuthAttempt, error) {
	if !keyable(tenant) || !keyable(nonce) {
		return OAuthAttempt{}, ErrNotFound
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(oauthPK(tenant, nonce), skOAuth),
		UpdateExpression:          aws.String("SET connectionId = :c"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND attribute_not_exists(connectionId)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: connID}},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err = written(err, ErrNotFound, "claiming OAuth attempt"); err != nil {
		return OAuthAttempt{}, err
	}
	var it oauthItem
	return it.OAuthAttempt, unmarshalMap(out.Attributes, &it)
}

// SetReturnURL stores where the tenant's browsers land after an OAuth
// install ("" removes it).
func (s *Store) SetReturnURL(ctx context.Context, tenant, returnURL string) error {
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), skTenant),
		UpdateExpression:    aws.String("REMOVE returnUrl"),
		ConditionExpression: aws.String(condExists),
	}
	if returnURL != "" {
		in.UpdateExpression = aws.String("SET returnUrl = :u")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":u": &types.AttributeValueMemberS{Value: returnURL}}
	}
	_, err := s.db.UpdateItem(ctx, in)
	return written(err, ErrNotFound, "storing return URL")
}

// MarkNeedsReauthorization sets a connection's status to
// StatusNeedsReauthorization and takes it out of the scheduler's index;
// its version moves on, so cached clients of the old version are not
// reused. A deleted connection, or a draft (never activated: it stays a
// draft), is left alone.
func (s *Store) MarkNeedsReauthorization(ctx context.Context, tenant, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), connSK(id)),
		UpdateExpression:         aws.String("SET #s = :s, updatedAt = :now ADD version :one REMOVE GSI2PK, GSI2SK"),
		ConditionExpression:      aws.String("attribute_exists(PK) AND (attribute_not_exists(#s) OR #s <> :draft)"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: StatusNeedsReauthorization}, ":one": numAV(1),
			":now": &types.AttributeValueMemberS{Value: s.now().UTC().Format(time.RFC3339Nano)}, ":draft": &types.AttributeValueMemberS{Value: StatusDraft}},
	})
	return written(err, nil, "marking connection for re-authorisation")
}
