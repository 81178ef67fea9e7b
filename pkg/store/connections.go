package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/schedule"
)

// Connection is an installed integration of a tenant.
type Connection struct {
	TenantID          string            `dynamodbav:"tenantId"`
	ID                string            `dynamodbav:"id"`
	Platform          string            `dynamodbav:"platform"`
	Label             string            `dynamodbav:"label"`
	ConsentMode       string            `dynamodbav:"consentMode"`
	DefaultRegion     string            `dynamodbav:"defaultRegion"`
	SelectedTags      []string          `dynamodbav:"selectedTags,omitempty"`
	FieldMap          map[string]string `dynamodbav:"fieldMap,omitempty"`
	WriteBackOptOuts  bool              `dynamodbav:"writeBackOptOuts"`
	SyncIntervalHours int               `dynamodbav:"syncIntervalHours"`
	Enabled           bool              `dynamodbav:"enabled"`
	// DoubleOptInExpiryDays is how long a double opt-in request waits for
	// its YES before the number is not_subscribed (0: the default, 30);
	// DoubleOptInReminderDays when its one reminder is sent (0: none).
	DoubleOptInExpiryDays   int `dynamodbav:"doubleOptInExpiryDays,omitempty"`
	DoubleOptInReminderDays int `dynamodbav:"doubleOptInReminderDays,omitempty"`
	// Config is the platform configuration with its secrets, sealed by the
	// caller (pkg/seal); the store never looks inside. PublicConfig holds
	// the non-secret settings the API may show (shop domain, store URL...).
	Config         []byte            `dynamodbav:"config"`
	PublicConfig   map[string]string `dynamodbav:"publicConfig,omitempty"`
	LastSyncAt     time.Time         `dynamodbav:"lastSyncAt,omitempty"`
	LastFullSyncAt time.Time         `dynamodbav:"lastFullSyncAt,omitempty"`
	NextSyncAt     time.Time         `dynamodbav:"nextSyncAt"`
	CreatedAt      time.Time         `dynamodbav:"createdAt"`
	UpdatedAt      time.Time         `dynamodbav:"updatedAt"`
	Version        int64             `dynamodbav:"version"`

	// FieldTypes is the type the platform declares for each mapped source
	// field (source.FieldNumber...), as listed when the map was validated.
	FieldTypes map[string]string `dynamodbav:"fieldTypes,omitempty"`

	// Status is "" (active), StatusDraft (authorised, nothing synced yet:
	// the scheduler ignores it until it is activated) or
	// StatusNeedsReauthorization (its token could not be refreshed: out of
	// the scheduler's index until a new authorisation).
	Status string `dynamodbav:"status,omitempty"`
}

type connItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	// The scheduler index holds enabled, active connections only (sparse).
	GSI2PK string `dynamodbav:"GSI2PK,omitempty"`
	GSI2SK string `dynamodbav:"GSI2SK,omitempty"`
	Connection
}

func (s *Store) connItem(c Connection) connItem {
	it := connItem{PK: tenantPK(c.TenantID), SK: connSK(c.ID), Connection: c}
	if c.Enabled && c.Status == "" {
		it.GSI2PK = schedPK(c.TenantID, c.ID)
		it.GSI2SK = c.NextSyncAt.UTC().Format(time.RFC3339) + "#" + c.TenantID + "#" + c.ID
	}
	return it
}

// CreateConnection stores a new connection (its ID must be new).
func (s *Store) CreateConnection(ctx context.Context, c Connection) error {
	_, err := s.InsertConnection(ctx, c)
	return err
}

// InsertConnection stores a new connection (its ID must be new) and returns
// it as stored: with its creation time, update time and first version.
func (s *Store) InsertConnection(ctx context.Context, c Connection) (Connection, error) {
	now := s.now()
	c.CreatedAt, c.UpdatedAt, c.Version = now, now, 1
	av, err := marshalMap(s.connItem(c))
	if err != nil {
		return Connection{}, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String(condAbsent)})
	if conditionFailed(err) {
		return Connection{}, fmt.Errorf("connection %s exists: %w", c.ID, ErrConflict)
	}
	if err != nil {
		return Connection{}, fmt.Errorf("creating connection: %w", err)
	}
	return c, nil
}

// UpdateConnection writes c if its Version is still the stored one, and
// bumps the version. A stale version gets ErrConflict.
func (s *Store) UpdateConnection(ctx context.Context, c Connection) (Connection, error) {
	prev := c.Version
	c.Version++
	c.UpdatedAt = s.now()
	av, err := marshalMap(s.connItem(c))
	if err != nil {
		return Connection{}, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: av,
		ConditionExpression:       aws.String(condVersion),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": numAV(prev)},
	})
	if conditionFailed(err) {
		return Connection{}, fmt.Errorf("connection %s changed meanwhile: %w", c.ID, ErrConflict)
	}
	if err != nil {
		return Connection{}, fmt.Errorf("updating connection: %w", err)
	}
	return c, nil
}

// GetConnection reads one connection of the tenant.
func (s *Store) GetConnection(ctx context.Context, tenant, id string) (Connection, error) {
	if !keyable(tenant) || !keyable(id) {
		return Connection{}, ErrNotFound // no such key can exist
	}
	var it connItem
	err := s.getItem(ctx, "connection", true, tenantPK(tenant), connSK(id), &it)
	return it.Connection, err
}

// ListConnections lists a tenant's connections.
func (s *Store) ListConnections(ctx context.Context, tenant string, limit int, cursor string) ([]Connection, string, error) {
	in := s.prefixQuery(tenantPK(tenant), "CONN#")
	return listPage(ctx, s, in, tableListing(tenantPK(tenant), "CONN#"), cursor, limit, func(it connItem) Connection { return it.Connection })
}

// DeleteConnection removes a connection.
func (s *Store) DeleteConnection(ctx context.Context, tenant, id string) error {
	if !keyable(tenant) || !keyable(id) {
		return ErrNotFound
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), connSK(id)),
		ConditionExpression: aws.String(condExists),
	})
	return written(err, ErrNotFound, "deleting connection")
}

// MarkSynced records a finished run's start time and schedules the next
// run at the connection's next slot (pkg/schedule: anchored to the
// schedule, not to when this run started or ended).
func (s *Store) MarkSynced(ctx context.Context, tenant, id string, at time.Time, full bool) error {
	c, err := s.GetConnection(ctx, tenant, id)
	if err != nil {
		return err
	}
	c.LastSyncAt = at
	if full {
		c.LastFullSyncAt = at
	}
	c.NextSyncAt = schedule.AfterStart(tenant, id, c.SyncIntervalHours, at)
	_, err = s.UpdateConnection(ctx, c)
	return err
}

// ScheduleNext moves an enabled connection's next sync to next (the
// scheduler does, as it starts the run of a slot, so a run that fails does
// not make the connection due again at every tick). It changes nothing else
// and leaves a disabled or deleted connection alone.
func (s *Store) ScheduleNext(ctx context.Context, tenant, id string, next time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: keyOf(tenantPK(tenant), connSK(id)),
		UpdateExpression:    aws.String("SET nextSyncAt = :n, GSI2SK = :sk"),
		ConditionExpression: aws.String("attribute_exists(PK) AND enabled = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n":  &types.AttributeValueMemberS{Value: next.UTC().Format(time.RFC3339Nano)},
			":sk": &types.AttributeValueMemberS{Value: next.UTC().Format(time.RFC3339) + "#" + tenant + "#" + id},
			":t":  &types.AttributeValueMemberBOOL{Value: true},
		},
	})
	return written(err, nil, "scheduling the next sync")
}

// DueConnection identifies a connection the scheduler should sync.
type DueConnection struct {
	TenantID, ConnectionID string
}

// ListDueConnections returns enabled connections whose next sync time is at
// or before now, across every tenant (the scheduler index, sharded).
func (s *Store) ListDueConnections(ctx context.Context, now time.Time, each func(DueConnection) error) error {
	upper := now.UTC().Format(time.RFC3339) + "#~"
	for shard := range schedShards {
		in := s.dueQuery(fmt.Sprintf("SCHED#%d", shard), upper)
		in.ProjectionExpression = aws.String("tenantId, id")
		err := s.queryAll(ctx, "listing due connections", in, func(out *dynamodb.QueryOutput) error {
			for _, item := range out.Items {
				var d struct {
					TenantID string `dynamodbav:"tenantId"`
					ID       string `dynamodbav:"id"`
				}
				if err := unmarshalMap(item, &d); err != nil {
					return err
				}
				if err := each(DueConnection{TenantID: d.TenantID, ConnectionID: d.ID}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// NewConnectionID returns a new connection id for tenant. The id carries the
// tenant ("<tenantId>.c_<random>") so ingress URLs that name only a
// connection (/webhooks/{platform}/{connectionId}) find its tenant without
// any cross-tenant index; reads still go through the tenant's own key.
func NewConnectionID(tenant string) string { return tenant + "." + NewID("c_") }

// TenantOfConnection returns the tenant a connection id belongs to.
func TenantOfConnection(connID string) (string, bool) {
	t, rest, ok := strings.Cut(connID, ".")
	if !ok || !strings.HasPrefix(t, "t_") || !strings.HasPrefix(rest, "c_") || strings.ContainsAny(connID, "#/") {
		return "", false
	}
	return t, true
}
