{{- define "sextant.name" -}}sextant-operator{{- end -}}

{{- define "sextant.labels" -}}
app.kubernetes.io/name: sextant-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
