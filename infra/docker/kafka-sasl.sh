#!/bin/sh
# Entrypoint of docker-compose's `kafka` service (the apache/kafka image): a single KRaft node whose
# client listener is SASL_PLAINTEXT with SCRAM-SHA-512 and the StandardAuthorizer, as the local
# broker of npm start / npm test (infra/src/kafka-broker.ts, docs/design/kafka-security.md).
# - The SCRAM users (admin, issuance, revocation, anomaly, ledger, usage-reporter) are made when the
#   storage is formatted, the first time, with passwords from $KAFKA_SECRETS_DIR/kafka-<name>-password
#   (Docker secrets, made by scripts/compose-init). A formatted volume is used as it is.
# - server.properties is rendered at every start into $KAFKA_CONFIG_DIR (0600: it holds the admin's
#   password for the inter-broker listener), with admin-client.properties for the healthcheck.
# - The controller listener is PLAINTEXT on 127.0.0.1 only: ANONYMOUS (a super user) is only the
#   broker talking to its own controller.
# Nothing here prints a password. Paths and ports are variables so that the script can be run
# outside Docker too (KAFKA_HOME, KAFKA_DATA_DIR, ...).
set -eu

KAFKA_HOME="${KAFKA_HOME:-/opt/kafka}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-/var/lib/kafka/data}"
KAFKA_SECRETS_DIR="${KAFKA_SECRETS_DIR:-/run/secrets}"
KAFKA_CONFIG_DIR="${KAFKA_CONFIG_DIR:-/tmp/kafka-config}"
KAFKA_ADVERTISED_HOST="${KAFKA_ADVERTISED_HOST:-kafka}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
PRINCIPALS="admin issuance revocation anomaly ledger usage-reporter"

fail() {
  echo "kafka-sasl: $*" >&2
  exit 1
}

password_of() {
  file="$KAFKA_SECRETS_DIR/kafka-$1-password"
  [ -r "$file" ] || fail "missing secret $file (the password of Kafka principal $1): run scripts/compose-init"
  value=$(tr -d '\r\n' <"$file")
  [ -n "$value" ] || fail "secret $file is empty"
  case "$value" in
    *'"'* | *' '* | *','* | *']'* | *'\'*) fail "secret $file: use a password of letters, digits, - and _ (scripts/compose-init makes one)" ;;
  esac
  printf '%s' "$value"
}

for principal in $PRINCIPALS; do password_of "$principal" >/dev/null; done
admin_password=$(password_of admin)

umask 077
mkdir -p "$KAFKA_CONFIG_DIR" "$KAFKA_DATA_DIR"
config="$KAFKA_CONFIG_DIR/server.properties"
cat >"$config" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=SASL_PLAINTEXT://0.0.0.0:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://$KAFKA_ADVERTISED_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS
log.dirs=$KAFKA_DATA_DIR
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
num.partitions=3
group.initial.rebalance.delay.ms=0
log.retention.hours=-1
log.segment.bytes=104857600
message.max.bytes=1048588
PROPERTIES
cat >"$KAFKA_CONFIG_DIR/admin-client.properties" <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
PROPERTIES

if [ ! -f "$KAFKA_DATA_DIR/meta.properties" ]; then
  set -- format "--cluster-id=$("$KAFKA_HOME/bin/kafka-storage.sh" random-uuid)" -c "$config"
  for principal in $PRINCIPALS; do
    set -- "$@" --add-scram "SCRAM-SHA-512=[name=$principal,password=$(password_of "$principal")]"
  done
  # Its output names the directory and cluster id, never the --add-scram arguments.
  "$KAFKA_HOME/bin/kafka-storage.sh" "$@"
  echo 'SCRAM-SHA-512' >"$KAFKA_DATA_DIR/.sasl"
elif [ ! -f "$KAFKA_DATA_DIR/.sasl" ]; then
  fail "$KAFKA_DATA_DIR was formatted without SASL users (an older compose file): remove the kafka-data volume"
fi

exec "$KAFKA_HOME/bin/kafka-server-start.sh" "$config"
