package main

// AWS list prices, us-east-1, as published on the pricing pages below
// (checked for this file in November 2026; prices change — update them
// here). Free tiers are ignored.
const (
	// DynamoDB on-demand: $0.625 per million write request units and
	// $0.125 per million read request units.
	// https://aws.amazon.com/dynamodb/pricing/on-demand/
	priceWRU = 0.625 / 1e6
	priceRRU = 0.125 / 1e6
	// SQS standard queues: $0.40 per million requests (each 64 KB chunk of
	// a request counts as one; our messages are far smaller).
	// https://aws.amazon.com/sqs/pricing/
	priceSQSRequest = 0.40 / 1e6
	// Lambda on arm64: $0.0000133334 per GB-second and $0.20 per million
	// requests. https://aws.amazon.com/lambda/pricing/
	priceGBSecond      = 0.0000133334
	priceInvocation    = 0.20 / 1e6
	lambdaMemoryGB     = 0.25 // 256 MB
	perMillionContacts = 1e6
)

// cost is dollars per million contacts for one kind of sync.
type cost struct {
	DynamoDB float64 `json:"dynamodb"`
	SQS      float64 `json:"sqs"`
	Lambda   float64 `json:"lambda"`
	Total    float64 `json:"total"`
	// The per-contact inputs it was computed from.
	WCUPerContact             float64 `json:"wcuPerContact"`
	RCUPerContact             float64 `json:"rcuPerContact"`
	SQSRequestsPerContact     float64 `json:"sqsRequestsPerContact"`
	BilledSecondsPerContact   float64 `json:"lambdaSecondsPerContact"`
	InvocationsPerContact     float64 `json:"invocationsPerContact"`
	ContactsMeasured          int     `json:"contactsMeasured"`
	ContactItemsPerContact    float64 `json:"contactItemsWrittenPerContact"`
	AllItemsWrittenPerContact float64 `json:"itemsWrittenPerContact"`
}

// costs are the install and daily re-sync costs.
type costs struct {
	Install cost `json:"install"`
	Resync  cost `json:"resync"`
}

// costModel prices the measured units of every platform's install (at the
// real limits) and re-sync of the unchanged store.
func costModel(ps []platformResult) costs {
	var install, resync []measured
	for _, p := range ps {
		install = append(install, p.Install)
		resync = append(resync, p.Resync)
	}
	return costs{Install: price(install), Resync: price(resync)}
}

func price(ms []measured) cost {
	var sum measured
	for _, m := range ms {
		sum.Seen += m.Seen
		sum.WCU += m.WCU
		sum.RCU += m.RCU
		sum.SQS += m.SQS
		sum.BilledSeconds += m.BilledSeconds
		sum.Invocations += m.Invocations
		sum.Items += m.Items
		sum.ContactItems += m.ContactItems
	}
	c := cost{ContactsMeasured: sum.Seen,
		WCUPerContact: sum.perContact(sum.WCU), RCUPerContact: sum.perContact(sum.RCU),
		SQSRequestsPerContact:     sum.perContact(float64(sum.SQS)),
		BilledSecondsPerContact:   sum.perContact(sum.BilledSeconds),
		InvocationsPerContact:     sum.perContact(float64(sum.Invocations)),
		ContactItemsPerContact:    sum.perContact(float64(sum.ContactItems)),
		AllItemsWrittenPerContact: sum.perContact(float64(sum.Items)),
	}
	c.DynamoDB = perMillionContacts * (c.WCUPerContact*priceWRU + c.RCUPerContact*priceRRU)
	c.SQS = perMillionContacts * c.SQSRequestsPerContact * priceSQSRequest
	c.Lambda = perMillionContacts * (c.BilledSecondsPerContact*lambdaMemoryGB*priceGBSecond + c.InvocationsPerContact*priceInvocation)
	c.Total = c.DynamoDB + c.SQS + c.Lambda
	return c
}
