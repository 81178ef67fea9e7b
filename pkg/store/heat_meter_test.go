package store_test

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/store"
)

// heatMeter wraps the store's DynamoDB client and records, per partition
// key of the table and of each GSI, the requests that touch it and their
// units by AWS's rules, from the real items: a write costs one unit per
// started KB of the larger of the item before and after it (two in a
// transaction) on the table, plus, on each GSI whose key the item carries
// before or after, one unit per started KB where its entry is put, moved
// (a delete on the old key and a put on the new one) or deleted; a read
// costs half a unit per started 4 KB read (a strongly consistent one a
// whole unit), at least one such step per item or query. Before and after
// images are read with the unwrapped client, uncounted.
type heatMeter struct {
	raw   store.DynamoDBAPI
	table string

	mu   sync.Mutex
	keys map[heatKey]*heatCount
}

// heatKey is one partition key: of the table ("table") or of a GSI.
type heatKey struct{ Where, PK string }

func (k heatKey) String() string { return k.Where + " " + k.PK }

// heatCount is what one partition key received.
type heatCount struct {
	Writes, Reads int     // item writes (index entries for a GSI), read requests or items
	WCU, RCU      float64 // units by AWS's rules
	MaxItem       int     // the largest item written or read there, bytes
}

// newMeteredStore is newStore with a heat meter on its DynamoDB client;
// the stack is there for more stores on the same table.
func newMeteredStore(t *testing.T) (*store.Store, *heatMeter, *stacktest.Stack, *clock) {
	t.Helper()
	_, stack, clk := newStore(t)
	m := newHeatMeter(stack.DynamoDB, stack.Table)
	return store.New(m, stack.Table, store.WithClock(clk.now)), m, stack, clk
}

func newHeatMeter(raw store.DynamoDBAPI, table string) *heatMeter {
	return &heatMeter{raw: raw, table: table, keys: map[heatKey]*heatCount{}}
}

// take returns what was recorded since the last take and starts again.
func (m *heatMeter) take() map[heatKey]heatCount {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[heatKey]heatCount, len(m.keys))
	for k, c := range m.keys {
		out[k] = *c
	}
	m.keys = map[heatKey]*heatCount{}
	return out
}

func (m *heatMeter) add(k heatKey, write bool, units float64, size int) {
	if k.PK == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.keys[k]
	if c == nil {
		c = &heatCount{}
		m.keys[k] = c
	}
	if write {
		c.Writes++
		c.WCU += units
	} else {
		c.Reads++
		c.RCU += units
	}
	c.MaxItem = max(c.MaxItem, size)
}

func kb(size int) float64 { return float64(max((size+1023)/1024, 1)) }

func readUnits(size int, consistent bool) float64 {
	u := float64(max((size+4095)/4096, 1))
	if consistent {
		return u
	}
	return u / 2
}

func strAttr(item map[string]types.AttributeValue, name string) string {
	if s, ok := item[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// image reads an item as it is now (uncounted).
func (m *heatMeter) image(ctx context.Context, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	out, err := m.raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(m.table), Key: map[string]types.AttributeValue{"PK": key["PK"], "SK": key["SK"]}, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return nil
	}
	return out.Item
}

// wrote records one item write: its table partition and each GSI entry
// it puts, moves or deletes. A write that failed (its condition) costs
// its table units only.
func (m *heatMeter) wrote(pk string, before, after map[string]types.AttributeValue, tx, failed bool, intended int) {
	size := max(store.ItemSize(before), store.ItemSize(after), intended)
	units := kb(size)
	if tx {
		units *= 2
	}
	m.add(heatKey{"table", pk}, true, units, size)
	if failed {
		return
	}
	for _, g := range resources.MainTable("").GSIs {
		pkA, skA := g.PartitionKey.Name, g.SortKey.Name
		opk, osk, npk, nsk := strAttr(before, pkA), strAttr(before, skA), strAttr(after, pkA), strAttr(after, skA)
		switch {
		case opk == "" && npk == "":
		case opk == npk && osk == nsk:
			if !reflect.DeepEqual(before, after) {
				m.add(heatKey{g.Name, npk}, true, kb(store.ItemSize(after)), store.ItemSize(after))
			}
		default:
			if opk != "" {
				m.add(heatKey{g.Name, opk}, true, kb(store.ItemSize(before)), store.ItemSize(before))
			}
			if npk != "" {
				m.add(heatKey{g.Name, npk}, true, kb(store.ItemSize(after)), store.ItemSize(after))
			}
		}
	}
}

func (m *heatMeter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := m.raw.GetItem(ctx, in, o...)
	if err == nil {
		size := store.ItemSize(out.Item)
		m.add(heatKey{"table", strAttr(in.Key, "PK")}, false, readUnits(size, aws.ToBool(in.ConsistentRead)), size)
	}
	return out, err
}

func (m *heatMeter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := m.raw.Query(ctx, in, o...)
	if err != nil {
		return out, err
	}
	where := "table"
	if in.IndexName != nil {
		where = *in.IndexName
	}
	pk := strAttr(in.ExpressionAttributeValues, ":pk")
	size, biggest := 0, 0
	for _, it := range out.Items {
		n := store.ItemSize(it)
		size += n
		biggest = max(biggest, n)
	}
	if filtered := int(out.ScannedCount - out.Count); filtered > 0 && len(out.Items) > 0 {
		size += filtered * size / len(out.Items) // filtered items read, at the average size
	}
	m.add(heatKey{where, pk}, false, readUnits(size, aws.ToBool(in.ConsistentRead)), biggest)
	return out, nil
}

func (m *heatMeter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := m.raw.BatchGetItem(ctx, in, o...)
	if err != nil {
		return out, err
	}
	for table, ka := range in.RequestItems {
		found := map[string]map[string]types.AttributeValue{}
		for _, it := range out.Responses[table] {
			found[strAttr(it, "PK")+"|"+strAttr(it, "SK")] = it
		}
		unprocessed := map[string]bool{}
		for _, k := range out.UnprocessedKeys[table].Keys {
			unprocessed[strAttr(k, "PK")+"|"+strAttr(k, "SK")] = true
		}
		for _, k := range ka.Keys {
			id := strAttr(k, "PK") + "|" + strAttr(k, "SK")
			if unprocessed[id] {
				continue
			}
			size := store.ItemSize(found[id])
			m.add(heatKey{"table", strAttr(k, "PK")}, false, readUnits(size, aws.ToBool(ka.ConsistentRead)), size)
		}
	}
	return out, nil
}

func (m *heatMeter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	before := m.image(ctx, in.Item)
	out, err := m.raw.PutItem(ctx, in, o...)
	m.wrote(strAttr(in.Item, "PK"), before, m.image(ctx, in.Item), false, err != nil, store.ItemSize(in.Item))
	return out, err
}

func (m *heatMeter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	before := m.image(ctx, in.Key)
	out, err := m.raw.UpdateItem(ctx, in, o...)
	m.wrote(strAttr(in.Key, "PK"), before, m.image(ctx, in.Key), false, err != nil, 0)
	return out, err
}

func (m *heatMeter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	before := m.image(ctx, in.Key)
	out, err := m.raw.DeleteItem(ctx, in, o...)
	m.wrote(strAttr(in.Key, "PK"), before, m.image(ctx, in.Key), false, err != nil, 0)
	return out, err
}

func (m *heatMeter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	type w struct {
		key      map[string]types.AttributeValue
		before   map[string]types.AttributeValue
		intended int
	}
	var ws []w
	for _, r := range in.RequestItems[m.table] {
		switch {
		case r.PutRequest != nil:
			ws = append(ws, w{r.PutRequest.Item, m.image(ctx, r.PutRequest.Item), store.ItemSize(r.PutRequest.Item)})
		case r.DeleteRequest != nil:
			ws = append(ws, w{r.DeleteRequest.Key, m.image(ctx, r.DeleteRequest.Key), 0})
		}
	}
	out, err := m.raw.BatchWriteItem(ctx, in, o...)
	if err != nil {
		return out, err
	}
	unprocessed := map[string]bool{}
	for _, r := range out.UnprocessedItems[m.table] {
		k := map[string]types.AttributeValue{}
		if r.PutRequest != nil {
			k = r.PutRequest.Item
		} else if r.DeleteRequest != nil {
			k = r.DeleteRequest.Key
		}
		unprocessed[strAttr(k, "PK")+"|"+strAttr(k, "SK")] = true
	}
	for _, x := range ws {
		if !unprocessed[strAttr(x.key, "PK")+"|"+strAttr(x.key, "SK")] {
			m.wrote(strAttr(x.key, "PK"), x.before, m.image(ctx, x.key), false, false, x.intended)
		}
	}
	return out, nil
}

func (m *heatMeter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	type w struct {
		key      map[string]types.AttributeValue
		before   map[string]types.AttributeValue
		intended int
	}
	ws := make([]w, 0, len(in.TransactItems))
	for _, it := range in.TransactItems {
		var x w
		switch {
		case it.Put != nil:
			x = w{key: it.Put.Item, intended: store.ItemSize(it.Put.Item)}
		case it.Update != nil:
			x = w{key: it.Update.Key}
		case it.Delete != nil:
			x = w{key: it.Delete.Key}
		case it.ConditionCheck != nil:
			x = w{key: it.ConditionCheck.Key}
		}
		x.before = m.image(ctx, x.key)
		ws = append(ws, x)
	}
	out, err := m.raw.TransactWriteItems(ctx, in, o...)
	for _, x := range ws {
		after := x.before
		if err == nil {
			after = m.image(ctx, x.key)
		}
		m.wrote(strAttr(x.key, "PK"), x.before, after, true, err != nil, x.intended)
	}
	return out, err
}

// TransactGetItems records each item read: two units per started 4 KB.
func (m *heatMeter) TransactGetItems(ctx context.Context, in *dynamodb.TransactGetItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error) {
	out, err := m.raw.TransactGetItems(ctx, in, o...)
	if err != nil {
		return out, err
	}
	for i, it := range in.TransactItems {
		size := 0
		if i < len(out.Responses) {
			size = store.ItemSize(out.Responses[i].Item)
		}
		m.add(heatKey{"table", strAttr(it.Get.Key, "PK")}, false, 2*readUnits(size, true), size)
	}
	return out, nil
}

// heatClass names the access pattern of a partition key: tenant and ids
// become placeholders, the key's shape stays ("T#t#C#<id>"). Keys whose
// value is one per tenant, run or group keep their fixed parts.
func heatClass(tenant, pk string) string {
	pk = strings.Replace(pk, "T#"+tenant, "T#t", 1)
	for _, p := range []struct{ prefix, class string }{
		{"T#t#C#", "T#t#C#<id>"}, {"T#t#P#", "T#t#P#<e164>"}, {"T#t#EMAILS#", "T#t#EMAILS#<s>"},
		{"T#t#S#", "T#t#S#<c>#<extId>"}, {"T#t#H#", "T#t#H#<e164|id>"}, {"T#t#IDEM#", "T#t#IDEM#<scope>#<key>"},
		{"T#t#OUT#", "T#t#OUT#<ref>"}, {"T#t#DOI#", "T#t#DOI#<c>#<e164>"}, {"T#t#SUP#", "T#t#SUP#<hash>"},
		{"T#t#RUN#", "T#t#RUN#<r>"}, {"T#t#CONN#", "T#t#CONN#<c>#RUNS"}, {"T#t#G#", "T#t#G#<group>#<k>"},
		{"T#t#CONTACTS#PENDING#", "T#t#CONTACTS#PENDING#<k>"}, {"T#t#CONTACTS#", "T#t#CONTACTS#<k>"},
		{"SCHED#", "SCHED#<n>"}, {"OUTBOX#", "OUTBOX#<n>"}, {"DOI#", "DOI#<n>"}, {"HOOKS#", "HOOKS#<n>"},
		{"T#t#USAGE#", "T#t#USAGE#<k>"}, {"T#t#CREDITS#", "T#t#CREDITS#<k>"}, {"T#t#BLOCK#", "T#t#BLOCK#<k>"},
	} {
		if strings.HasPrefix(pk, p.prefix) {
			return p.class
		}
	}
	return pk
}

// heatRow is one access pattern's load in a replay: over all its keys, and
// on its busiest key.
type heatRow struct {
	Where, Class   string
	Keys           int
	Writes, Reads  int     // all keys
	WCU, RCU       float64 // all keys
	HotWCU, HotRCU float64 // the busiest key (by WCU, then RCU)
	HotWrites      int
	HotReads       int
	MaxItem        int
	hotKey         string
}

// heatRows groups a replay's keys by access pattern, busiest first.
func heatRows(tenant string, keys map[heatKey]heatCount) []heatRow {
	by := map[[2]string]*heatRow{}
	for k, c := range keys {
		id := [2]string{k.Where, heatClass(tenant, k.PK)}
		r := by[id]
		if r == nil {
			r = &heatRow{Where: id[0], Class: id[1]}
			by[id] = r
		}
		r.Keys++
		r.Writes += c.Writes
		r.Reads += c.Reads
		r.WCU += c.WCU
		r.RCU += c.RCU
		r.MaxItem = max(r.MaxItem, c.MaxItem)
		if c.WCU > r.HotWCU || (c.WCU == r.HotWCU && c.RCU > r.HotRCU) {
			r.HotWCU, r.HotRCU, r.HotWrites, r.HotReads, r.hotKey = c.WCU, c.RCU, c.Writes, c.Reads, k.PK
		}
	}
	out := make([]heatRow, 0, len(by))
	for _, r := range by {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].HotWCU != out[j].HotWCU {
			return out[i].HotWCU > out[j].HotWCU
		}
		if out[i].HotRCU != out[j].HotRCU {
			return out[i].HotRCU > out[j].HotRCU
		}
		return out[i].Where+out[i].Class < out[j].Where+out[j].Class
	})
	return out
}
