/**
 * AWS-shaped errors. Every failure kvsd reports is an ApiError: the code travels in the
 * `x-amzn-ErrorType` header (what the SDKs read first) and in the body's `__type`, the text
 * in `message` (JS SDK v3 and botocore both read `message`).
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const invalidArgument = (message: string) => new ApiError('InvalidArgumentException', 400, message);
export const streamNotFound = (message = 'The requested stream is not found or not active.') =>
  new ApiError('ResourceNotFoundException', 404, message);
export const resourceInUse = (message: string) => new ApiError('ResourceInUseException', 400, message);
export const versionMismatch = (message: string) => new ApiError('VersionMismatchException', 400, message);
export const clientLimitExceeded = (message: string) => new ApiError('ClientLimitExceededException', 400, message);
export const connectionLimitExceeded = (message: string) =>
  new ApiError('ConnectionLimitExceededException', 400, message);
export const notAuthorized = (message: string) => new ApiError('NotAuthorizedException', 401, message);

/** Serialised form of an error: headers in both spellings (SDKs read x-amzn-, the seed documents x-amz-). */
export function errorResponse(
  err: ApiError,
  requestId: string,
): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: err.status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': err.code,
      'x-amz-errortype': err.code,
      'x-amzn-requestid': requestId,
      'x-amz-requestid': requestId,
    },
    body: JSON.stringify({ __type: err.code, message: err.message }),
  };
}
