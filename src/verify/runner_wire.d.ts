/** Declarations of runner_wire.js, the message format shared with the runner scripts. */

/** Collects the blobs of a message; the same bytes object added twice is sent once. */
export declare class BlobList {
  readonly blobs: Uint8Array[];
  add(bytes: Uint8Array): number;
}

/** Writes `body` (its tensors' `data` already blob indices) and the blobs to `file`. */
export declare function writeMessage(file: string, body: object, blobs: BlobList): void;

/** Reads a message from `file`: its body and a function giving blob `i` as a view over the message's bytes. */
export declare function readMessage(file: string): { body: unknown; blob: (i: number) => Uint8Array };
