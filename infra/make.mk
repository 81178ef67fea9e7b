# Included from the top Makefile: `include infra/make.mk`.
# CDK targets; the CLI is the exact version pinned in infra/package.json.
INFRA_CDK = cd infra && npx --no-install cdk
INFRA_CDKLOCAL = cd infra && npx --no-install cdklocal

.PHONY: infra-npm synth diff deploy cdklocal infra-test

# npm ci also writes node_modules/go.mod (package.json postinstall): the CDK
# CLI ships Go init templates that would otherwise break `go test ./...` in infra/.
infra/node_modules: infra/package.json infra/package-lock.json
	cd infra && npm ci

infra-npm: infra/node_modules

# synth is offline once infra/node_modules and the Go module cache are filled:
# no AWS credentials or network (the app reads ../.build/<fn>.zip). Context:
# make synth CDK_CONTEXT="-c alarmEmail=ops@example.com -c publicBaseUrl=https://hooks.example.com"
# TestMakeSynth (infra/cmd/contactsync-cdk) runs the same CLI command with the network off.
synth: build infra-npm
	$(INFRA_CDK) synth --quiet --no-notices $(CDK_CONTEXT)

diff: build infra-npm
	$(INFRA_CDK) diff $(CDK_CONTEXT)

deploy: build infra-npm
	$(INFRA_CDK) deploy --require-approval broadening $(CDK_CONTEXT)

# LocalStack (needs Docker and a running LocalStack).
cdklocal: build infra-npm
	$(INFRA_CDKLOCAL) bootstrap && $(INFRA_CDKLOCAL) deploy --require-approval never $(CDK_CONTEXT)

infra-test:
	cd infra && go test -count=1 ./...
