"""Structural schemas of the custom resources the manifests use beyond KafkaTopic and KafkaUser.

kubernetes-validate knows only the core API, and no operator's CRDs ship offline, so each kind
is checked against the schema below, written from the operator's API reference: Strimzi
v1beta2 (``Kafka``, ``KafkaNodePool``, ``KafkaMirrorMaker2``), the MongoDB Community Operator
(``MongoDBCommunity``) and the Prometheus Operator (``ServiceMonitor``, ``PrometheusRule``).
Only the fields these manifests may use are allowed where the schema is closed, so a typo or a
misplaced field fails; open parts (``config``, pod templates) are left to the operators.
"""

from __future__ import annotations

from typing import Any

_STRING = {"type": "string", "minLength": 1}
_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
_QUANTITY = {
    "type": ["string", "integer"],
    "pattern": r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$",
}
_RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "requests": {"type": "object", "additionalProperties": _QUANTITY},
        "limits": {"type": "object", "additionalProperties": _QUANTITY},
    },
}
_CONFIG = {
    "type": "object",
    "additionalProperties": {"type": ["string", "integer", "boolean", "number"]},
}
_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"matchLabels": _LABELS, "matchExpressions": {"type": "array"}},
}
_DISRUPTION = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"maxUnavailable": {"type": "integer", "minimum": 0}},
}
_STRIMZI_TEMPLATE = {
    "type": "object",
    "properties": {"podDisruptionBudget": _DISRUPTION, "pod": {"type": "object"}},
}


def _closed(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def _resource(api: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    metadata = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": _NAME,
            "namespace": _NAME,
            "labels": _LABELS,
            "annotations": _LABELS,
        },
        "additionalProperties": False,
    }
    return _closed(
        ["apiVersion", "kind", "metadata", "spec"],
        {"apiVersion": {"const": api}, "kind": {"const": kind}, "metadata": metadata, "spec": spec},
    )


_STRIMZI = "kafka.strimzi.io/v1beta2"

_LISTENER = _closed(
    ["name", "port", "type", "tls"],
    {
        "name": {"type": "string", "pattern": r"^[a-z0-9]{1,11}$"},
        "port": {"type": "integer", "minimum": 9092},
        "type": {
            "enum": ["internal", "route", "loadbalancer", "nodeport", "ingress", "cluster-ip"]
        },
        "tls": {"type": "boolean"},
        "authentication": _closed(
            ["type"], {"type": {"enum": ["tls", "scram-sha-512", "oauth", "custom"]}}
        ),
        "configuration": {"type": "object"},
        "networkPolicyPeers": {"type": "array", "items": {"type": "object"}},
    },
)

_KAFKA = _resource(
    _STRIMZI,
    "Kafka",
    _closed(
        ["kafka"],
        {
            "kafka": _closed(
                ["listeners"],
                {
                    "version": _STRING,
                    "metadataVersion": _STRING,
                    "listeners": {"type": "array", "minItems": 1, "items": _LISTENER},
                    "authorization": _closed(
                        ["type"],
                        {
                            "type": {"enum": ["simple", "opa", "keycloak", "custom"]},
                            "superUsers": {"type": "array", "items": _STRING},
                        },
                    ),
                    "config": _CONFIG,
                    "template": _STRIMZI_TEMPLATE,
                    "resources": _RESOURCES,
                },
            ),
            "entityOperator": _closed(
                [],
                {
                    "topicOperator": {"type": "object"},
                    "userOperator": {"type": "object"},
                    "template": _STRIMZI_TEMPLATE,
                },
            ),
        },
    ),
)

_VOLUME = _closed(
    ["id", "type"],
    {
        "id": {"type": "integer", "minimum": 0},
        "type": {"enum": ["persistent-claim", "ephemeral"]},
        "size": {"type": "string", "pattern": r"^[0-9]+(Mi|Gi|Ti)$"},
        "class": _STRING,
        "deleteClaim": {"type": "boolean"},
        "kraftMetadata": {"const": "shared"},
    },
)

_NODE_POOL = _resource(
    _STRIMZI,
    "KafkaNodePool",
    _closed(
        ["replicas", "roles", "storage"],
        {
            "replicas": {"type": "integer", "minimum": 0},
            "roles": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": ["controller", "broker"]},
            },
            "storage": _closed(
                ["type"],
                {
                    "type": {"enum": ["jbod", "persistent-claim", "ephemeral"]},
                    "volumes": {"type": "array", "items": _VOLUME},
                },
            ),
            "resources": _RESOURCES,
            "jvmOptions": {"type": "object"},
            "template": {"type": "object"},
        },
    ),
)

_MM2_CLUSTER = _closed(
    ["alias", "bootstrapServers"],
    {
        "alias": {"type": "string", "pattern": r"^[a-zA-Z0-9._-]+$"},
        "bootstrapServers": {"type": "string", "pattern": r"^[^\s,]+:[0-9]+(,[^\s,]+:[0-9]+)*$"},
        "tls": _closed(
            [],
            {
                "trustedCertificates": {
                    "type": "array",
                    "items": _closed(
                        ["secretName"],
                        {"secretName": _NAME, "certificate": _STRING, "pattern": _STRING},
                    ),
                }
            },
        ),
        "authentication": _closed(
            ["type"],
            {
                "type": {"enum": ["tls", "scram-sha-256", "scram-sha-512", "plain", "oauth"]},
                "username": _STRING,
                "passwordSecret": _closed(
                    ["secretName", "password"], {"secretName": _NAME, "password": _STRING}
                ),
            },
        ),
        "config": _CONFIG,
    },
)
_CONNECTOR = _closed(
    [],
    {
        "tasksMax": {"type": "integer", "minimum": 1},
        "config": _CONFIG,
        "pause": {"type": "boolean"},
    },
)
_MIRROR = _closed(
    ["sourceCluster", "targetCluster"],
    {
        "sourceCluster": _STRING,
        "targetCluster": _STRING,
        "sourceConnector": _CONNECTOR,
        "checkpointConnector": _CONNECTOR,
        "heartbeatConnector": _CONNECTOR,
        "topicsPattern": _STRING,
        "topicsExcludePattern": _STRING,
        "groupsPattern": _STRING,
        "groupsExcludePattern": _STRING,
    },
)
_MIRROR_MAKER = _resource(
    _STRIMZI,
    "KafkaMirrorMaker2",
    _closed(
        ["connectCluster", "clusters", "mirrors"],
        {
            "version": _STRING,
            "replicas": {"type": "integer", "minimum": 0},
            "connectCluster": _STRING,
            "clusters": {"type": "array", "minItems": 2, "items": _MM2_CLUSTER},
            "mirrors": {"type": "array", "minItems": 1, "items": _MIRROR},
            "resources": _RESOURCES,
            "template": {"type": "object"},
        },
    ),
)

_MONGODB_USER = _closed(
    ["name", "db", "passwordSecretRef", "roles", "scramCredentialsSecretName"],
    {
        "name": _STRING,
        "db": _STRING,
        "passwordSecretRef": _closed(["name"], {"name": _NAME, "key": _STRING}),
        "roles": {
            "type": "array",
            "minItems": 1,
            "items": _closed(["name", "db"], {"name": _STRING, "db": _STRING}),
        },
        # the operator appends "-scram-credentials": a lowercase name
        "scramCredentialsSecretName": {
            "type": "string",
            "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        },
        "connectionStringSecretName": _NAME,
        "connectionStringSecretNamespace": _NAME,
        "additionalConnectionStringConfig": _CONFIG,
    },
)
_MONGODB = _resource(
    "mongodbcommunity.mongodb.com/v1",
    "MongoDBCommunity",
    _closed(
        ["members", "type", "version", "security", "users"],
        {
            "members": {"type": "integer", "minimum": 1},
            "arbiters": {"type": "integer", "minimum": 0},
            "type": {"const": "ReplicaSet"},
            "version": {"type": "string", "pattern": r"^[0-9]+\.[0-9]+\.[0-9]+$"},
            "security": _closed(
                [],
                {
                    "authentication": _closed(
                        ["modes"],
                        {
                            "modes": {
                                "type": "array",
                                "items": {
                                    "enum": ["SCRAM", "SCRAM-SHA-256", "SCRAM-SHA-1", "X509"]
                                },
                            },
                            "ignoreUnknownUsers": {"type": "boolean"},
                        },
                    ),
                    "tls": {"type": "object"},
                    "roles": {"type": "array"},
                },
            ),
            "users": {"type": "array", "minItems": 1, "items": _MONGODB_USER},
            "statefulSet": _closed(["spec"], {"spec": {"type": "object"}}),
            "additionalMongodConfig": {"type": "object"},
            "featureCompatibilityVersion": _STRING,
        },
    ),
)

_MONITORING = "monitoring.coreos.com/v1"
_ENDPOINT = _closed(
    [],
    {
        "port": _STRING,
        "path": {"type": "string", "pattern": "^/"},
        "interval": {"type": "string", "pattern": r"^[0-9]+(ms|s|m|h)$"},
        "scrapeTimeout": {"type": "string", "pattern": r"^[0-9]+(ms|s|m|h)$"},
        "scheme": {"enum": ["http", "https"]},
    },
)
_SERVICE_MONITOR = _resource(
    _MONITORING,
    "ServiceMonitor",
    _closed(
        ["selector", "endpoints"],
        {
            "selector": _SELECTOR,
            "endpoints": {"type": "array", "minItems": 1, "items": _ENDPOINT},
            "namespaceSelector": {"type": "object"},
            "jobLabel": _STRING,
        },
    ),
)
_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["expr"],
    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
    "properties": {
        "alert": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
        "record": {"type": "string", "pattern": r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
        "expr": _STRING,
        "for": {"type": "string", "pattern": r"^[0-9]+(ms|s|m|h|d)$"},
        "labels": _LABELS,
        "annotations": _LABELS,
    },
}
_PROMETHEUS_RULE = _resource(
    _MONITORING,
    "PrometheusRule",
    _closed(
        ["groups"],
        {
            "groups": {
                "type": "array",
                "minItems": 1,
                "items": _closed(
                    ["name", "rules"],
                    {
                        "name": _STRING,
                        "interval": _STRING,
                        "rules": {"type": "array", "minItems": 1, "items": _RULE},
                    },
                ),
            }
        },
    ),
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "Kafka": _KAFKA,
    "KafkaNodePool": _NODE_POOL,
    "KafkaMirrorMaker2": _MIRROR_MAKER,
    "MongoDBCommunity": _MONGODB,
    "ServiceMonitor": _SERVICE_MONITOR,
    "PrometheusRule": _PROMETHEUS_RULE,
}
