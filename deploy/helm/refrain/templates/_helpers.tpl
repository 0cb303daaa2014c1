{{/* The release's base name: the release name, with "-refrain" unless it has it. */}}
{{- define "refrain.fullname" -}}
{{- if contains "refrain" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-refrain" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "refrain.labels" -}}
app.kubernetes.io/name: refrain
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "server") */}}
{{- define "refrain.selector" -}}
app.kubernetes.io/name: refrain
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "refrain.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "refrain.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "refrain.fullname" .)) -}}
{{- end -}}

{{/* The environment every Refrain container gets: the ConfigMap, then each secret key
     (the database URL and server key required, the rest optional). */}}
{{- define "refrain.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "refrain.fullname" . }}-config
env:
{{- range $key := list "REFRAIN_DATABASE_URL" "REFRAIN_SECRET_KEY" }}
  - name: {{ $key }}
    valueFrom:
      secretKeyRef:
        name: {{ include "refrain.secretName" $ }}
        key: {{ $key }}
{{- end }}
{{- range $key := list "REFRAIN_REDIS_URL" "REFRAIN_S3_ACCESS_KEY_ID" "REFRAIN_S3_SECRET_ACCESS_KEY" "REFRAIN_SMTP_URL" "REFRAIN_METRICS_TOKEN" "REFRAIN_OIDC_CLIENT_SECRET" "REFRAIN_GOOGLE_CLIENT_SECRET" }}
{{- if or $.Values.secrets.existingSecret (index $.Values.secrets.values $key) }}
  - name: {{ $key }}
    valueFrom:
      secretKeyRef:
        name: {{ include "refrain.secretName" $ }}
        key: {{ $key }}
        optional: true
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod security shared by every container: the image's non-root user, nothing more. */}}
{{- define "refrain.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "refrain.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end -}}
