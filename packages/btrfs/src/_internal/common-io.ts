import { type IoFailedError, ioError } from "@lifeboat/core";
import { ResultAsync } from "neverthrow";

export function fromNode<T>(
  promise: Promise<T>,
  target: string,
  operation: string,
): ResultAsync<T, IoFailedError> {
  return ResultAsync.fromPromise(promise, (e) => ioError(e, target, operation));
}
