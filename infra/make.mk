# Included from the top Makefile: `include infra/make.mk`.
# CDK targets; the CLI is the exact version pinned in infra/package.json.
INFRA_CDK = cd infra && npx --no-install cdk
INFRA_CDKLOCAL = cd infra && npx --no-install cdklocal

.PHONY: infra-npm synth diff deploy cdklocal infra-test

infra/node_modules: infra/package.json infra/package-lock.json
	cd infra && npm ci

infra-npm: infra/node_modules

# synth is offline: no AWS credentials or network needed (app reads ../.build/<fn>.zip).
synth: build infra-npm
	$(INFRA_CDK) synth --quiet

diff: build infra-npm
	$(INFRA_CDK) diff

deploy: build infra-npm
	$(INFRA_CDK) deploy --require-approval broadening

# LocalStack (needs Docker and a running LocalStack).
cdklocal: build infra-npm
	$(INFRA_CDKLOCAL) bootstrap && $(INFRA_CDKLOCAL) deploy --require-approval never

infra-test:
	cd infra && go test -count=1 ./...
