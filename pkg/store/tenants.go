package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Tenant is one hub account.
type Tenant struct {
	ID        string    `dynamodbav:"tenantId"`
	Name      string    `dynamodbav:"name"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	// SMSProvider is the sealed SMS provider settings (PUT /v1/sms-provider);
	// the store never looks inside.
	SMSProvider []byte `dynamodbav:"smsProvider,omitempty"`
	// MonthlyCreditCap, when set, holds SMS that would take the month's
	// credits past it (SetCreditCap, PUT /v1/usage/cap).
	MonthlyCreditCap *int `dynamodbav:"monthlyCreditCap,omitempty"`
	// ReturnURL is where the browser lands after an OAuth install
	// (SetReturnURL, PUT /v1/settings).
	ReturnURL string `dynamodbav:"returnUrl,omitempty"`
}

type tenantItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	Tenant
	// CreditsUsed is the count of texts sent before the usage shards
	// (CreditsUsed adds the shards' running totals to it).
	CreditsUsed int `dynamodbav:"creditsUsed"`
}

type apiKeyItem struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	TenantID  string    `dynamodbav:"tenantId"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewID returns a random URL-safe id with a prefix ("t_", "c_", ...).
func NewID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return prefix + hex.EncodeToString(b)
}

// CreateTenant stores a new tenant and returns it with its first API key.
// The key is "<tenantId>.<secret>"; only the secret's SHA-256 is stored.
func (s *Store) CreateTenant(ctx context.Context, name string) (Tenant, string, error) {
	t := Tenant{ID: NewID("t_"), Name: name, CreatedAt: s.now()}
	secret := randomToken(24)
	tav, err := marshalMap(tenantItem{PK: tenantPK(t.ID), SK: skTenant, Tenant: t})
	if err != nil {
		return Tenant{}, "", err
	}
	kav, err := marshalMap(apiKeyItem{PK: tenantPK(t.ID), SK: keySK(hashHex(secret)), TenantID: t.ID, CreatedAt: t.CreatedAt})
	if err != nil {
		return Tenant{}, "", err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: tav, ConditionExpression: aws.String(condAbsent)}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: kav}},
	})
	if err != nil {
		return Tenant{}, "", fmt.Errorf("creating tenant: %w", err)
	}
	return t, t.ID + "." + secret, nil
}

// maxAPISecretLen bounds the secret part of an API key (randomToken(24) is
// 32 characters; the sample key is longer).
const maxAPISecretLen = 256

// Authenticate returns the tenant an API key belongs to, or ErrNotFound.
// A key that cannot be one (not "<tenant id>.<secret>", or too long) is
// ErrNotFound before it reaches a key.
func (s *Store) Authenticate(ctx context.Context, apiKey string) (string, error) {
	tenant, secret, ok := strings.Cut(apiKey, ".")
	if !ok || !ValidTenantID(tenant) || secret == "" || len(secret) > maxAPISecretLen {
		return "", ErrNotFound
	}
	h := hashHex(secret)
	var it apiKeyItem
	if err := s.getItem(ctx, "API key", false, tenantPK(tenant), keySK(h), &it); err != nil {
		return "", err
	}
	// The lookup is by the secret's hash, so its timing says nothing about
	// the secret itself.
	if it.TenantID != tenant {
		return "", ErrNotFound
	}
	return tenant, nil
}

// GetTenant reads a tenant (one item: the outbox and the inbound path read
// it for every text).
func (s *Store) GetTenant(ctx context.Context, id string) (Tenant, error) {
	if !keyable(id) {
		return Tenant{}, ErrNotFound // no such key can exist
	}
	var it tenantItem
	if err := s.getItem(ctx, "tenant", false, tenantPK(id), skTenant, &it); err != nil {
		return Tenant{}, err
	}
	return it.Tenant, nil
}

// CreditsUsed is the credits of every SMS sent for the tenant: the tenant
// item's own count (texts sent before the usage shards) and the 16 shards'
// running totals (usage_shards.go), in one BatchGetItem.
func (s *Store) CreditsUsed(ctx context.Context, id string) (int, error) {
	if !keyable(id) {
		return 0, ErrNotFound
	}
	keys := append([]map[string]types.AttributeValue{keyOf(tenantPK(id), skTenant)}, totalKeys(id)...)
	items, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return 0, fmt.Errorf("reading credits used: %w", err)
	}
	item, ok := items[itemKey(keys[0])]
	if !ok {
		return 0, ErrNotFound
	}
	var it tenantItem
	if err := unmarshalMap(item, &it); err != nil {
		return 0, err
	}
	n := it.CreditsUsed
	for _, key := range keys[1:] {
		c, err := sumCredits(items[itemKey(key)])
		if err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

// SetSMSProvider stores the tenant's sealed SMS provider settings.
func (s *Store) SetSMSProvider(ctx context.Context, tenant string, sealed []byte) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), skTenant),
		UpdateExpression:          aws.String("SET smsProvider = :p"),
		ConditionExpression:       aws.String(condExists),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberB{Value: sealed}},
	})
	return written(err, ErrNotFound, "storing SMS provider")
}

// EnsureTenant creates the tenant with a fixed id and API key secret if it
// does not exist (the sample tenant of `make invoke`); it changes nothing
// when it does.
func (s *Store) EnsureTenant(ctx context.Context, id, name, secret string) error {
	t := Tenant{ID: id, Name: name, CreatedAt: s.now()}
	tav, err := marshalMap(tenantItem{PK: tenantPK(id), SK: skTenant, Tenant: t})
	if err != nil {
		return err
	}
	kav, err := marshalMap(apiKeyItem{PK: tenantPK(id), SK: keySK(hashHex(secret)), TenantID: id, CreatedAt: t.CreatedAt})
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: tav, ConditionExpression: aws.String(condAbsent)}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: kav}},
	})
	if cancelReasons(err) != nil {
		return nil // exists already
	}
	return err
}
