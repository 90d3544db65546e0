# One image for the four apps; APP picks which one runs (issuance, revocation, anomaly, ledger).
# The witness and the one-shot jobs run from it with their own command.
# Node 22 LTS; the apps themselves support Node >= 20.19 (`engines`).
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npx turbo run build --output-logs=errors-only && npm prune --omit=dev

FROM node:22-bookworm-slim
# State of the running app (the ledger's signing key, issuance's generated root token) goes to
# /var/lib/tokenledger, owned by the runtime user `node` (uid 1000) and declared a volume; /app
# stays read-only to it. A generated root token is written to ROOT_TOKEN_FILE (0600), not to stdout.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    ROOT_TOKEN_FILE=/var/lib/tokenledger/root-token \
    ROOT_TOKEN_STDOUT=off \
    LEDGER_SIGNING_KEY_FILE=/var/lib/tokenledger/ledger-signing-key
WORKDIR /app
COPY --from=build /src /app
# /var/lib/tokenledger-witness: where the one-shot `witness-keys` (docker-compose.yml) mounts the
# witness's volume next to the ledger's, so that a new volume there is owned by `node` too.
RUN mkdir -p /var/lib/tokenledger /var/lib/tokenledger-witness \
    && chown node:node /var/lib/tokenledger /var/lib/tokenledger-witness \
    && chmod 0700 /var/lib/tokenledger /var/lib/tokenledger-witness
VOLUME /var/lib/tokenledger
USER node
ARG APP=issuance
ENV APP=${APP}
CMD ["sh", "-c", "exec node apps/${APP}/dist/main.js"]
