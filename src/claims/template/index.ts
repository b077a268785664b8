export type {
  ClaimTemplateOptions,
  CompiledClaimTemplate,
  TemplateNode,
  TemplateObjectNode,
} from "./claim-template.js";
export { compileClaimTemplate, DEFAULT_MAX_TEMPLATE_BYTES, renderClaimTemplate } from "./claim-template.js";
export type { ClaimTemplateRoot, ClaimTemplateUser, TemplateReader } from "./template-roots.js";
export {
  objectRoot,
  rbacActionsRoot,
  readPath,
  readsRbacPolicy,
  USER_TEMPLATE_ROOTS,
  valueRoot,
} from "./template-roots.js";
