# Included from the top Makefile: `include infra/make.mk`.
# CDK targets; the CLI is the exact version pinned in infra/package.json.
INFRA_CDK = cd infra && npx --no-install cdk

.PHONY: infra-npm synth diff deploy cdklocal infra-test

# npm ci also writes node_modules/go.mod (package.json postinstall): the CDK
# CLI ships Go init templates that would otherwise break `go test ./...` in infra/.
infra/node_modules: infra/package.json infra/package-lock.json
	cd infra && npm ci

infra-npm: infra/node_modules ## the CDK app's pinned npm packages (npm ci in infra/)

# synth is offline once infra/node_modules and the Go module cache are filled:
# no AWS credentials or network (the app reads ../.build/<fn>.zip). Context:
# make synth CDK_CONTEXT="-c alarmEmail=ops@example.com -c publicBaseUrl=https://hooks.example.com"
# TestMakeSynth (infra/cmd/contactsync-cdk) runs the same CLI command with the network off.
synth: build infra-npm ## synthesize the CloudFormation template, offline (CDK_CONTEXT)
	$(INFRA_CDK) synth --quiet --no-notices $(CDK_CONTEXT)

diff: build infra-npm ## cdk diff against the deployed stack (AWS credentials)
	$(INFRA_CDK) diff $(CDK_CONTEXT)

deploy: build infra-npm ## deploy to AWS (AWS credentials; CDK_CONTEXT)
	$(INFRA_CDK) deploy --require-approval broadening $(CDK_CONTEXT)

# LocalStack (needs Docker and a running LocalStack): the same app and
# assets as `make deploy`, through cdklocal (aws-cdk-local, pinned), with
# LocalStack's test credentials. `make localstack-up LOCALSTACK_PROVISION=0
# deploy-local`; see the README (The deployed stack on LocalStack) for what it needs and what has
# been exercised.
# cdklocal wants AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_S3 together
# (LOCALSTACK_URL, LOCALSTACK_S3_URL override them); the embedded stack's
# per-service endpoints, if exported, must not leak into the deployment.
LOCALSTACK_AWS = unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS; \
	export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
	AWS_ENDPOINT_URL=$${LOCALSTACK_URL:-http://localhost.localstack.cloud:4566} \
	AWS_ENDPOINT_URL_S3=$${LOCALSTACK_S3_URL:-http://s3.localhost.localstack.cloud:4566}
CDKLOCAL = npx --no-install cdklocal
cdklocal: build infra-npm ## deploy the same app to a running LocalStack through cdklocal
	cd infra && $(LOCALSTACK_AWS) && $(CDKLOCAL) bootstrap && \
	  $(CDKLOCAL) deploy --require-approval never --outputs-file cdk.out/local-outputs.json $(CDK_CONTEXT)

.PHONY: deploy-local deploy-local-dry
deploy-local: cdklocal ## the same as cdklocal

# What deploy-local does short of talking to LocalStack: the Lambda zips and
# the cloud assembly, offline (no Docker, no credentials).
deploy-local-dry: build infra-npm ## what deploy-local does short of LocalStack: zips and cloud assembly, offline
	cd infra && $(LOCALSTACK_AWS) && $(CDKLOCAL) synth --quiet --no-notices $(CDK_CONTEXT)

infra-test: ## the CDK app's tests (synthesized template checks)
	cd infra && go test -count=1 ./...
