package hubapi

import (
	"context"
	"time"
)

// One deadline per request. Lambda gives each invocation the api
// function's timeout (resources.Functions, 28 s, under API Gateway's 30 s
// integration limit) as its context's deadline, and the sandbox does the
// same. A request ends AnswerReserve before it, so the answer is written
// before Lambda stops the function; every platform call of the request
// (credential check, field listing, install options, token exchange, SMS
// provider set-up, webhook registration) gets its own bound cut to what is
// left of that one deadline, less what the steps after it need
// (StoreReserve: the store's writes, the install's start, the answer).
// A webhook registration that cannot finish in time is stored as failing
// and retried by the scheduler (hooks.Keeper), never a failed request.
const (
	AnswerReserve = time.Second
	StoreReserve  = 3 * time.Second
)

// requestContext ends ctx AnswerReserve before the invocation's deadline
// (none: ctx unchanged).
func requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-AnswerReserve))
	}
	return context.WithCancel(ctx)
}

// stepContext bounds one platform step of a request: at most limit, and
// ending keep before the request's deadline so the steps after it still
// fit. A request with no time left gets an expired context (the step
// fails at once as "did not answer in time").
func stepContext(ctx context.Context, limit, keep time.Duration) (context.Context, context.CancelFunc) {
	end := time.Now().Add(limit)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-keep).Before(end) {
		end = dl.Add(-keep)
	}
	return context.WithDeadline(ctx, end)
}
