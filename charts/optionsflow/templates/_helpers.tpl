{{/* The release's full name, at most 63 characters. */}}
{{- define "optionsflow.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "optionsflow.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "optionsflow.labels" -}}
{{ include "optionsflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: optionsflow
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "optionsflow.serviceAccountName" -}}
{{- default (include "optionsflow.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "optionsflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "optionsflow.workerImage" -}}
{{- default (printf "ghcr.io/optionsflow/optionsflow-worker:%s" .Chart.AppVersion) .Values.workerImage -}}
{{- end -}}

{{/*
What the operator does to pipelines, SymbolSets and their children. Shared by the ClusterRole
(all namespaces) and the Role (one namespace) so the two can never disagree.
*/}}
{{- define "optionsflow.rules" -}}
# Its own resources: watched, finalizer added and removed (patch), status written.
- apiGroups: ["optionsflow.io"]
  resources: ["optionspipelines", "symbolsets"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["optionsflow.io"]
  resources: ["optionspipelines/status", "symbolsets/status"]
  verbs: ["get", "patch"]
# Owner references with blockOwnerDeletion need this where the admission plugin enforces it.
- apiGroups: ["optionsflow.io"]
  resources: ["optionspipelines/finalizers"]
  verbs: ["update"]
# Children: server-side applied (create, patch), watched, pruned (delete).
- apiGroups: [""]
  resources: ["configmaps", "services"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["batch"]
  resources: ["cronjobs", "jobs"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# The Prometheus Operator's PodMonitor over the workers (spec.monitoring.podMonitor), where
# its CRD is installed.
- apiGroups: ["monitoring.coreos.com"]
  resources: ["podmonitors"]
  verbs: ["get", "list", "create", "patch", "delete"]
# Kafka credentials, read by name only: no list, no watch.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
