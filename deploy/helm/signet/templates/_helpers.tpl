{{/* Names, labels and the few computed values more than one template needs. */}}

{{- define "signet.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "signet.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "signet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "signet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "signet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "signet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "signet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "signet.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "signet.tlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" -}}
{{- required "tls.secret.name: name the existing kubernetes.io/tls Secret when tls.mode is secret" .Values.tls.secret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "signet.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* external is true when the webhook runs outside the cluster (webhook.external.url). */}}
{{- define "signet.external" -}}
{{- if .Values.webhook.external.url -}}true{{- end -}}
{{- end -}}

{{/* The image reference: repository[:tag][@digest]; the tag defaults to appVersion unless a digest is given. */}}
{{- define "signet.image" -}}
{{- $tag := .Values.image.tag -}}
{{- if and (not $tag) (not .Values.image.digest) -}}
{{- $tag = .Chart.AppVersion -}}
{{- end -}}
{{- .Values.image.repository -}}
{{- if $tag -}}:{{ $tag }}{{- end -}}
{{- if .Values.image.digest -}}@{{ .Values.image.digest }}{{- end -}}
{{- end -}}

{{/* deadlineMargin in milliseconds; the schema allows only <n>ms and <n>s. */}}
{{- define "signet.marginMillis" -}}
{{- $m := .Values.webhook.deadlineMargin -}}
{{- if hasSuffix "ms" $m -}}
{{- trimSuffix "ms" $m | atoi -}}
{{- else -}}
{{- mul (trimSuffix "s" $m | atoi) 1000 -}}
{{- end -}}
{{- end -}}

{{/* The namespaces whose key Secrets the webhook reads, as a JSON list: secretNamespaces or the release namespace. */}}
{{- define "signet.secretNamespaces" -}}
{{- if .Values.secretNamespaces -}}
{{- toJson .Values.secretNamespaces -}}
{{- else -}}
{{- list .Release.Namespace | toJson -}}
{{- end -}}
{{- end -}}

{{/* usesAPIServer is true when the webhook talks to the API server at all. */}}
{{- define "signet.usesAPIServer" -}}
{{- if or .Values.policies.cluster .Values.registries.pullSecretLookup -}}true{{- end -}}
{{- end -}}

{{/* readsAllSecrets is true when the webhook needs Secrets in every namespace: keys anywhere, or pods' pull secrets. */}}
{{- define "signet.readsAllSecrets" -}}
{{- if or (has "*" .Values.secretNamespaces) .Values.registries.pullSecretLookup -}}true{{- end -}}
{{- end -}}

{{/* Refuse settings that would break the cluster or the webhook, saying which value to change. */}}
{{- define "signet.validate" -}}
{{- $timeoutMs := mul .Values.webhook.timeoutSeconds 1000 -}}
{{- $marginMs := include "signet.marginMillis" . | atoi -}}
{{- if ge (mul $marginMs 2) $timeoutMs -}}
{{- fail (printf "webhook.deadlineMargin %s must be less than half of webhook.timeoutSeconds (%ds): the webhook needs time to answer" .Values.webhook.deadlineMargin (int .Values.webhook.timeoutSeconds)) -}}
{{- end -}}
{{- if and (not .Values.webhook.mutating.enabled) (not .Values.webhook.validating.enabled) -}}
{{- fail "webhook.mutating.enabled and webhook.validating.enabled are both false: enable at least the validating webhook" -}}
{{- end -}}
{{- if and .Values.podDisruptionBudget.enabled (lt (int .Values.podDisruptionBudget.maxUnavailable) 1) -}}
{{- fail "podDisruptionBudget.maxUnavailable must be at least 1, or no node could be drained" -}}
{{- end -}}
{{- if and (not .Values.policies.cluster) (not .Values.policies.files) -}}
{{- fail "no policies: keep policies.cluster true or give policies.files" -}}
{{- end -}}
{{- if and .Values.policies.example.enabled (not .Values.policies.cluster) -}}
{{- fail "policies.example is a ClusterImagePolicy: it needs policies.cluster true" -}}
{{- end -}}
{{- if include "signet.external" . -}}
{{- if not (hasPrefix "https://" .Values.webhook.external.url) -}}
{{- fail (printf "webhook.external.url %q: the API server calls webhooks over HTTPS only; use https://HOST[:PORT]" .Values.webhook.external.url) -}}
{{- end -}}
{{- if not .Values.webhook.external.caBundle -}}
{{- fail "webhook.external.caBundle: give the PEM CA certificate that signed the external webhook's serving certificate" -}}
{{- end -}}
{{- end -}}
{{- if and (eq .Values.tls.mode "secret") (not (include "signet.external" .)) (not .Values.tls.secret.caBundle) -}}
{{- fail "tls.secret.caBundle: give the PEM CA certificate that signed the certificate in tls.secret.name" -}}
{{- end -}}
{{- end -}}

{{/* The namespaces excluded by name, as a JSON list. */}}
{{- define "signet.excludedNamespaces" -}}
{{- concat (list "kube-system" .Release.Namespace) .Values.webhook.excludedNamespaces | uniq | toJson -}}
{{- end -}}

{{/* Where `helm test` creates its Pod: tests.namespace, else the first of default and kube-public the webhook covers. */}}
{{- define "signet.testNamespace" -}}
{{- $excluded := include "signet.excludedNamespaces" . | fromJsonArray -}}
{{- if .Values.tests.namespace -}}
{{- .Values.tests.namespace -}}
{{- else if not (has "default" $excluded) -}}
default
{{- else -}}
kube-public
{{- end -}}
{{- end -}}

{{/* The namespaceSelector both webhooks share. */}}
{{- define "signet.namespaceSelector" -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- range (include "signet.excludedNamespaces" . | fromJsonArray) }}
      - {{ . | quote }}
      {{- end }}
{{- with .Values.webhook.optOutLabel }}
  - key: {{ . | quote }}
    operator: DoesNotExist
{{- end }}
{{- end -}}

{{/* The kinds DESIGN.md lists: every object that carries a pod spec, and the ephemeral-containers subresource. */}}
{{- define "signet.rules" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates"]
  scope: Namespaced
- apiGroups: ["apps"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["deployments", "replicasets", "statefulsets", "daemonsets"]
  scope: Namespaced
- apiGroups: ["batch"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["jobs", "cronjobs"]
  scope: Namespaced
{{- end -}}

{{/*
matchConditions: an UPDATE whose spec (template for PodTemplates) is unchanged changes no image,
and signet would allow it without looking; skipping the call saves a round trip per
metadata-only update. The has() guards keep the expression from erroring (an error would apply
the failurePolicy).
*/}}
{{- define "signet.matchConditions" -}}
matchConditions:
  - name: skip-metadata-only-updates
    expression: >-
      request.operation != 'UPDATE' || oldObject == null ||
      (has(object.spec) != has(oldObject.spec)) ||
      (has(object.spec) && object.spec != oldObject.spec) ||
      (has(object.template) != has(oldObject.template)) ||
      (has(object.template) && object.template != oldObject.template)
{{- end -}}

{{/* clientConfig for one endpoint (mutate or validate). */}}
{{- define "signet.clientConfig" -}}
{{- $root := index . 0 -}}
{{- $path := index . 1 -}}
{{- $caBundle := index . 2 -}}
clientConfig:
{{- if include "signet.external" $root }}
  url: {{ printf "%s/%s" (trimSuffix "/" $root.Values.webhook.external.url) $path | quote }}
{{- else }}
  service:
    name: {{ include "signet.fullname" $root }}
    namespace: {{ $root.Release.Namespace }}
    path: {{ printf "/%s" $path | quote }}
    port: 443
{{- end }}
{{- if $caBundle }}
  caBundle: {{ $caBundle }}
{{- end }}
{{- end -}}

{{/* signet-webhook's settings as SIGNET_<FLAG> variables (cmd/webhook/config.go). */}}
{{- define "signet.env" -}}
- name: SIGNET_LISTEN
  value: ":8443"
- name: SIGNET_TLS_CERT_FILE
  value: /etc/signet/tls/tls.crt
- name: SIGNET_TLS_KEY_FILE
  value: /etc/signet/tls/tls.key
{{- if .Values.policies.files }}
- name: SIGNET_POLICY
  value: /etc/signet/policies
{{- end }}
- name: SIGNET_CLUSTER_POLICIES
  value: {{ .Values.policies.cluster | quote }}
{{- if .Values.policies.cluster }}
- name: SIGNET_SECRET_NAMESPACES
  value: {{ include "signet.secretNamespaces" . | fromJsonArray | join "," | quote }}
{{- end }}
- name: SIGNET_UNMATCHED
  value: {{ .Values.policies.unmatched | quote }}
- name: SIGNET_DEFAULT_TIMEOUT
  value: {{ printf "%ds" (int .Values.webhook.timeoutSeconds) | quote }}
- name: SIGNET_DEADLINE_MARGIN
  value: {{ .Values.webhook.deadlineMargin | quote }}
{{- with .Values.registries.caBundles }}
- name: SIGNET_REGISTRY_CA_FILE
  value: {{ $files := list }}{{ range $name, $_ := . }}{{ $files = append $files (printf "/etc/signet/registry-ca/%s" $name) }}{{ end }}{{ join "," $files | quote }}
{{- end }}
{{- with .Values.registries.insecure }}
- name: SIGNET_INSECURE_REGISTRY
  value: {{ join "," . | quote }}
{{- end }}
{{- if .Values.registries.credentialsSecret }}
- name: SIGNET_DOCKER_CONFIG
  value: /etc/signet/registry-credentials/config.json
{{- end }}
- name: SIGNET_PULL_SECRETS
  value: {{ .Values.registries.pullSecretLookup | quote }}
- name: SIGNET_TAG_CACHE_TTL
  value: {{ .Values.cache.tagTTL | quote }}
- name: SIGNET_VERDICT_PASS_TTL
  value: {{ .Values.cache.verdictPassTTL | quote }}
- name: SIGNET_VERDICT_FAIL_TTL
  value: {{ .Values.cache.verdictFailTTL | quote }}
- name: SIGNET_CACHE_SIZE
  value: {{ .Values.cache.size | int | toString | quote }}
- name: SIGNET_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: SIGNET_SHUTDOWN_TIMEOUT
  value: {{ printf "%ds" (int .Values.shutdownTimeoutSeconds) | quote }}
{{- if and .Values.resources.limits .Values.resources.limits.memory }}
# The Go runtime collects harder as it nears the container's memory limit instead of being killed.
- name: GOMEMLIMIT
  valueFrom:
    resourceFieldRef:
      resource: limits.memory
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
