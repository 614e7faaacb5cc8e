/** One route: which connections or requests (`match`), what happens to them (`action`), who may (`security`). */
import type { IRouteMatch } from './route-basics.js';
import type { IRouteAction, IRouteHeaders } from './route-action.js';
import type { IRouteSecurity } from './route-security.js';

/** One route: which connections or requests (`match`), what happens to them (`action`), who may (`security`). */
export interface IRouteConfig {
  /**
   * Key for metrics, certificate status and logs; unique.
   * @default 'route-<index>'
   */
  name?: string;
  /** 19.x: an identifier of your own (kept, not used). */
  id?: string;
  /** Free text (kept, not used). */
  description?: string;
  /** Free labels (kept, not used). */
  tags?: string[];
  /**
   * Higher wins among matching routes; then the more specific, then the earlier.
   * @default 0
   */
  priority?: number;
  /**
   * false: the route is validated but not used.
   * @default true
   */
  enabled?: boolean;
  /** Which connections or requests the route takes. */
  match: IRouteMatch;
  /** What happens to them. */
  action: IRouteAction;
  /** Access rules: IP lists, connection limits, authentication, rate limits. */
  security?: IRouteSecurity;
  /** 19.x route-level header rules (merged into action.headers; the action's own win). */
  headers?: IRouteHeaders;
}
