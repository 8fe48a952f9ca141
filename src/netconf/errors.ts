// <rpc-error> (RFC 6241 section 4.3 and Appendix A): every failure the server reports is one
// of these, with the error-tag the RFC assigns and an error-path where a data node is at fault.
import { EM_NS } from './schema';
import { escapeAttr, escapeText } from './xml';

export const BASE_NS = 'urn:ietf:params:xml:ns:netconf:base:1.0';

export type ErrorType = 'transport' | 'rpc' | 'protocol' | 'application';

/** RFC 6241 Appendix A error-tags. */
export type ErrorTag =
  | 'in-use'
  | 'invalid-value'
  | 'too-big'
  | 'missing-attribute'
  | 'bad-attribute'
  | 'unknown-attribute'
  | 'missing-element'
  | 'bad-element'
  | 'unknown-element'
  | 'unknown-namespace'
  | 'access-denied'
  | 'lock-denied'
  | 'resource-denied'
  | 'rollback-failed'
  | 'data-exists'
  | 'data-missing'
  | 'operation-not-supported'
  | 'operation-failed'
  | 'partial-operation'
  | 'malformed-message';

export interface RpcErrorInfo {
  type: ErrorType;
  tag: ErrorTag;
  message: string;
  appTag?: string;
  /** Absolute XPath of the data node at fault, with the em: prefix for our module. */
  path?: string;
  /** error-info children: bad-element, bad-attribute, bad-namespace, session-id, non-unique. */
  info?: [string, string][];
}

export class RpcError extends Error {
  readonly errors: RpcErrorInfo[];
  constructor(errors: RpcErrorInfo | RpcErrorInfo[]) {
    const list = Array.isArray(errors) ? errors : [errors];
    super(list.map((e) => `${e.tag}: ${e.message}`).join('; '));
    this.name = 'RpcError';
    this.errors = list;
  }
}

export function rpcError(type: ErrorType, tag: ErrorTag, message: string, extra: Partial<RpcErrorInfo> = {}): RpcError {
  return new RpcError({ type, tag, message, ...extra });
}

/** The <rpc-error> elements for a reply (children of <rpc-reply>). */
export function errorsXml(errors: RpcErrorInfo[]): string {
  return errors
    .map((e) => {
      let x = `<rpc-error><error-type>${e.type}</error-type><error-tag>${e.tag}</error-tag><error-severity>error</error-severity>`;
      if (e.appTag) x += `<error-app-tag>${escapeText(e.appTag)}</error-app-tag>`;
      if (e.path) x += `<error-path xmlns:em="${EM_NS}">${escapeText(e.path)}</error-path>`;
      x += `<error-message xml:lang="en">${escapeText(e.message)}</error-message>`;
      if (e.info?.length) {
        x += '<error-info>';
        for (const [k, v] of e.info) x += k === 'non-unique' ? `<non-unique xmlns="urn:ietf:params:xml:ns:yang:1" xmlns:em="${escapeAttr(EM_NS)}">${escapeText(v)}</non-unique>` : `<${k}>${escapeText(v)}</${k}>`;
        x += '</error-info>';
      }
      return x + '</rpc-error>';
    })
    .join('');
}
