package acgs.helpers

sandboxed if input.context.environment.sandbox_enabled == true

audited if input.context.environment.audit_enabled == true
