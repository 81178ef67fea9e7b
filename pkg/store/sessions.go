package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Console sessions and sign-in links (pkg/console, the hub console).
//
// A session token is "<tenantId>.<secret>", like an API key, so the lookup
// is one GetItem on a tenant-scoped key; only the secret's SHA-256 is
// stored. A sign-in link's token has the same shape and is redeemed once: a
// conditional delete, so two browsers opening the same link get one
// session. Both expire (expiresAt, checked on read since TTL deletes
// lazily).

// Session is a console session.
type Session struct {
	TenantID string
	// CSRF is the session's anti-forgery token: a write through the
	// session must carry it in X-CSRF-Token.
	CSRF      string
	ExpiresAt time.Time
}

type sessionItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	TenantID  string `dynamodbav:"tenantId"`
	CSRF      string `dynamodbav:"csrf,omitempty"`
	CreatedAt int64  `dynamodbav:"createdAt"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

const (
	skSession   = "SESSION"
	skLoginLink = "LOGINLINK"
	// maxSessionSecretLen bounds a presented token's secret (randomToken(32)
	// is 43 characters).
	maxSessionSecretLen = 128
)

func sessionPK(t, secretHash string) string   { return tenantPK(t) + "#SESS#" + secretHash }
func loginLinkPK(t, secretHash string) string { return tenantPK(t) + "#LINK#" + secretHash }

// splitToken splits "<tenant>.<secret>", refusing anything that cannot be a
// token before it reaches a key.
func splitToken(token string) (tenant, secret string, ok bool) {
	tenant, secret, ok = strings.Cut(token, ".")
	if !ok || !ValidTenantID(tenant) || secret == "" || len(secret) > maxSessionSecretLen {
		return "", "", false
	}
	return tenant, secret, true
}

// CreateSession stores a new session of tenant that lasts ttl and returns
// its token (the cookie's value) with the session.
func (s *Store) CreateSession(ctx context.Context, tenant string, ttl time.Duration) (string, Session, error) {
	if !ValidTenantID(tenant) {
		return "", Session{}, ErrNotFound
	}
	now := s.now()
	secret := randomToken(32)
	sess := Session{TenantID: tenant, CSRF: randomToken(24), ExpiresAt: now.Add(ttl).Truncate(time.Second)}
	av, err := marshalMap(sessionItem{PK: sessionPK(tenant, hashHex(secret)), SK: skSession, TenantID: tenant, CSRF: sess.CSRF,
		CreatedAt: now.Unix(), ExpiresAt: sess.ExpiresAt.Unix()})
	if err != nil {
		return "", Session{}, err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av,
		ConditionExpression: aws.String(condAbsent)}); err != nil {
		return "", Session{}, fmt.Errorf("storing session: %w", err)
	}
	return tenant + "." + secret, sess, nil
}

// GetSession returns the live session a token names, or ErrNotFound (no
// such session, expired, or not a token).
func (s *Store) GetSession(ctx context.Context, token string) (Session, error) {
	tenant, secret, ok := splitToken(token)
	if !ok {
		return Session{}, ErrNotFound
	}
	var it sessionItem
	if err := s.getItem(ctx, "session", false, sessionPK(tenant, hashHex(secret)), skSession, &it); err != nil {
		return Session{}, err
	}
	if it.TenantID != tenant || it.ExpiresAt <= s.now().Unix() {
		return Session{}, ErrNotFound
	}
	return Session{TenantID: tenant, CSRF: it.CSRF, ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC()}, nil
}

// DeleteSession ends a session (sign out). Deleting one that does not
// exist is not an error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	tenant, secret, ok := splitToken(token)
	if !ok {
		return nil
	}
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: keyOf(sessionPK(tenant, hashHex(secret)), skSession)}); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}

// CreateLoginLink stores a single-use sign-in token of tenant valid for ttl.
func (s *Store) CreateLoginLink(ctx context.Context, tenant string, ttl time.Duration) (string, time.Time, error) {
	if !ValidTenantID(tenant) {
		return "", time.Time{}, ErrNotFound
	}
	now := s.now()
	secret := randomToken(32)
	exp := now.Add(ttl).Truncate(time.Second)
	av, err := marshalMap(sessionItem{PK: loginLinkPK(tenant, hashHex(secret)), SK: skLoginLink, TenantID: tenant, CreatedAt: now.Unix(), ExpiresAt: exp.Unix()})
	if err != nil {
		return "", time.Time{}, err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av,
		ConditionExpression: aws.String(condAbsent)}); err != nil {
		return "", time.Time{}, fmt.Errorf("storing sign-in link: %w", err)
	}
	return tenant + "." + secret, exp, nil
}

// RedeemLoginLink consumes a sign-in token and returns its tenant. A token
// already used, expired or unknown is ErrNotFound; of two concurrent
// redemptions exactly one succeeds.
func (s *Store) RedeemLoginLink(ctx context.Context, token string) (string, error) {
	tenant, secret, ok := splitToken(token)
	if !ok {
		return "", ErrNotFound
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: keyOf(loginLinkPK(tenant, hashHex(secret)), skLoginLink),
		ConditionExpression:       aws.String("attribute_exists(PK) AND tenantId = :t AND expiresAt > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: tenant}, ":now": numAV(s.now().Unix())},
	})
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("redeeming sign-in link: %w", err)
	}
	return tenant, nil
}
