/// <reference types="vite/client" />

declare module 'bpmn-auto-layout' {
  /** Lays out a BPMN document without diagram information; answers the XML with it. */
  export function layoutProcess(xml: string): Promise<string>;
}
