"""Policies for Azure ML workspace, compute, registry, governance, Databricks and cost.

Sources: Azure Policy built-ins for Azure ML (workspaces disable public network access, use
customer-managed keys; compute has local authentication disabled and no public IP), for Container
Registry (admin account disabled, anonymous pull disabled, public network access disabled), for
Databricks (no public IP / secure cluster connectivity, customer-managed keys, public network access
disabled), Azure RBAC best practice (no Owner, Contributor or User Access Administrator for platform
principals; no wildcard custom roles), the Azure security benchmark (LT-3: diagnostic settings on
services), Event Grid guidance (web-hook subscriptions require TLS 1.2, subscriptions filter event
types), and the platform's own rules (managed network isolation, replicated production registry,
budgets that reach someone).

Props are the azure-native wire names (camelCase) as `pulumi preview` sends them.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .support import Unknowns, as_list, attached, in_production, is_set, known, mappings, of_type, set_at, value_at

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
CONTAINER_REGISTRY = "azure-native:containerregistry:Registry"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
DATABRICKS = "azure-native:databricks:Workspace"
BUDGET = "azure-native:consumption:Budget"
EVENT_SUBSCRIPTIONS = ("azure-native:eventgrid:SystemTopicEventSubscription",
                       "azure-native:eventgrid:EventSubscription")
MANDATORY = EnforcementLevel.MANDATORY

PRIVILEGED_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}
"""Built-in roles that manage everything or grant access to others (same GUID in every tenant)."""
OUTBOUND_MODES = ("AllowInternetOutbound", "AllowOnlyApprovedOutbound")
MAX_BUDGET_NOTIFICATIONS = 5


def _ml_workspace(args: ResourceValidationArgs) -> bool:
    # Feature-store workspaces have their own rule (azure-feature-store-private, azure_serving).
    return args.resource_type == WORKSPACE and args.props.get("kind") != "FeatureStore"


def _workspace_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _ml_workspace(args) and args.props.get("publicNetworkAccess") != "Disabled":
        report("Azure ML workspace is reachable from public networks: set public_network_access=Disabled", None)


def _workspace_managed_network(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _ml_workspace(args):
        return
    mode = value_at(args.props, "managedNetwork", "isolationMode")
    if mode not in OUTBOUND_MODES:
        report(f"Azure ML workspace has no managed network isolation (isolationMode={mode}): set "
               "managed_network.isolation_mode", None)
    elif in_production(args.props) and mode != "AllowOnlyApprovedOutbound":
        report("production Azure ML workspace allows internet outbound: set isolation_mode=AllowOnlyApprovedOutbound",
               None)


def _workspace_cmk(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _ml_workspace(args) or not in_production(args.props):
        return
    encryption = args.props.get("encryption") or {}
    if encryption.get("status") != "Enabled" or not set_at(encryption, "keyVaultProperties", "keyIdentifier"):
        report("production Azure ML workspace is not encrypted with a customer-managed key", None)
    if args.props.get("hbiWorkspace") is not True:
        report("production Azure ML workspace is not high business impact: set hbi_workspace=True", None)


def _container_registry(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER_REGISTRY:
        return
    if args.props.get("adminUserEnabled") is not False:
        report("container registry has the admin user enabled: set admin_user_enabled=False", None)
    if args.props.get("anonymousPullEnabled") is True:
        report("container registry allows anonymous pull", None)
    if in_production(args.props) and args.props.get("publicNetworkAccess") != "Disabled":
        report("production container registry is reachable from public networks", None)


def _compute_hardened(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != COMPUTE or value_at(args.props, "properties", "computeType") != "AmlCompute":
        return
    compute = args.props["properties"]
    inner = compute.get("properties") or {}
    if compute.get("disableLocalAuth") is not True:
        report("Azure ML compute accepts local (key) authentication: set disable_local_auth=True", None)
    if inner.get("enableNodePublicIp") is not False:
        report("Azure ML compute nodes get public IPs: set enable_node_public_ip=False", None)
    if inner.get("remoteLoginPortPublicAccess") != "Disabled":
        report("Azure ML compute has its SSH port open: set remote_login_port_public_access=Disabled", None)
    if value_at(inner, "scaleSettings", "minNodeCount") not in (0, 0.0):
        report("Azure ML training cluster keeps nodes when idle: set min_node_count=0", None)


def _no_privileged_assignments(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ROLE_ASSIGNMENT:
        return
    # The privileged roles are built-in (literal ids): an id unknown in a preview is one of this stack's
    # custom roles, never one of them.
    role = str(known(args.props, "roleDefinitionId") or "").rsplit("/", 1)[-1].lower()
    if role in PRIVILEGED_ROLES:
        report(f"role assignment grants {PRIVILEGED_ROLES[role]}: use a least-privilege (custom) role", None)


def _custom_roles_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ROLE_DEFINITION:
        return
    for permission in mappings(args.props.get("permissions")):
        for action in as_list(permission.get("actions")):
            if action == "*" or action.startswith("Microsoft.Authorization/") or action.endswith("/*/write"):
                report(f"custom role allows {action!r}: list the actions the persona needs", None)
    scopes = args.props.get("assignableScopes") or []
    if not scopes or any(str(s).count("/") < 4 for s in scopes):
        report("custom role is assignable beyond a resource group: scope it to the platform's resource group", None)


def _workspace_diagnostics(args: StackValidationArgs, report: ReportViolation) -> None:
    unknowns = Unknowns()
    for workspace in of_type(args, WORKSPACE):
        with unknowns.skip():
            if workspace.props.get("kind") == "FeatureStore":
                continue
            settings = [s for s in attached(args, workspace, DIAGNOSTIC_SETTING, "resourceUri")
                        if is_set(s.props, "workspaceId")
                        and any(log.get("enabled") for log in mappings(s.props.get("logs")))]
            if not settings:
                report(f"Azure ML workspace {workspace.name} sends no logs to Log Analytics: add a diagnostic "
                       "setting (category group audit or allLogs)", workspace.urn)
    unknowns.settle()


def _registry_replicated(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ML_REGISTRY or not in_production(args.props):
        return
    regions = {d.get("location") for d in mappings(args.props.get("regionDetails"))}
    if len(regions) < 2:
        report("production Azure ML registry lives in one region: replicate it to the region's pair", None)


def _databricks_hardened(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DATABRICKS:
        return
    if value_at(args.props, "parameters", "enableNoPublicIp", "value") is not True:
        report("Databricks clusters get public IPs: enable secure cluster connectivity (enable_no_public_ip)", None)
    if value_at(args.props, "sku", "name") != "premium":
        report("Databricks workspace is not premium (no RBAC, audit logs or customer-managed keys)", None)
    if in_production(args.props):
        if args.props.get("publicNetworkAccess") != "Disabled":
            report("production Databricks workspace is reachable from public networks", None)
        if value_at(args.props, "encryption", "entities", "managedServices", "keySource") != "Microsoft.Keyvault":
            report("production Databricks workspace does not use a customer-managed key", None)


def _budget_notifies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != BUDGET:
        return
    notifications = args.props.get("notifications") or {}
    if not notifications:
        report("budget has no notifications", None)
    if len(notifications) > MAX_BUDGET_NOTIFICATIONS:
        report(f"budget has {len(notifications)} notifications (Azure takes at most {MAX_BUDGET_NOTIFICATIONS})", None)
    for key, notification in notifications.items():
        if not (is_set(notification, "contactEmails") or is_set(notification, "contactGroups")):
            report(f"budget notification {key} reaches nobody: add contact emails or an action group", None)


def _event_subscription_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # Workspace events carry run tags and properties: a subscription forwards only the types it acts on,
    # and a web hook (a Logic App trigger URL with its signature) is reached over TLS 1.2 only.
    if args.resource_type not in EVENT_SUBSCRIPTIONS:
        return
    if not value_at(args.props, "filter", "includedEventTypes"):
        report("event subscription delivers every event type of its topic: list the types it acts on", None)
    destination = args.props.get("destination") or {}
    if destination.get("endpointType") == "WebHook" and destination.get("minimumTlsVersionAllowed") != "1.2":
        report("web-hook event subscription accepts TLS below 1.2 (set minimumTlsVersionAllowed to 1.2)", None)


AZURE_PLATFORM_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy("azure-ml-workspace-private", "Azure ML workspaces are closed to public networks.",
                             _workspace_private, MANDATORY),
    ResourceValidationPolicy("azure-ml-workspace-managed-network",
                             "Azure ML workspaces isolate with a managed network; approved outbound only in prod.",
                             _workspace_managed_network, MANDATORY),
    ResourceValidationPolicy("azure-ml-workspace-cmk-in-production",
                             "Production Azure ML workspaces use a customer-managed key and high business impact.",
                             _workspace_cmk, MANDATORY),
    ResourceValidationPolicy("azure-container-registry-hardened",
                             "Container registries: no admin user, no anonymous pull, private in prod.",
                             _container_registry, MANDATORY),
    ResourceValidationPolicy("azure-ml-compute-hardened",
                             "Azure ML clusters: no local auth, no public IPs, SSH closed, scale to zero.",
                             _compute_hardened, MANDATORY),
    ResourceValidationPolicy("azure-no-privileged-role-assignments",
                             "No Owner, Contributor or User Access Administrator role assignments.",
                             _no_privileged_assignments, MANDATORY),
    ResourceValidationPolicy("azure-custom-roles-least-privilege",
                             "Custom roles list their actions and are assignable within a resource group only.",
                             _custom_roles_scoped, MANDATORY),
    StackValidationPolicy("azure-ml-workspace-diagnostics",
                          "Azure ML workspaces send their logs to Log Analytics.", _workspace_diagnostics, MANDATORY),
    ResourceValidationPolicy("azure-ml-registry-replicated-in-production",
                             "Production Azure ML registries replicate to a second region.",
                             _registry_replicated, MANDATORY),
    ResourceValidationPolicy("azure-databricks-hardened",
                             "Databricks: premium, no public IPs; private and customer-managed keys in prod.",
                             _databricks_hardened, MANDATORY),
    ResourceValidationPolicy("azure-budget-notifies", "Budgets notify someone, within Azure's five notifications.",
                             _budget_notifies, MANDATORY),
    ResourceValidationPolicy("azure-event-subscriptions-scoped",
                             "Event Grid subscriptions filter event types; web hooks require TLS 1.2.",
                             _event_subscription_scoped, MANDATORY),
]
