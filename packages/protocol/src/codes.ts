/** Result codes of the owitho protocol (docs/protocol.md, "Checking an incoming envelope"). */
export const ResultCode = {
  OK: 200,
  REQUEST_FAILED: 40000,
  APPID_NOT_EXIST: 40001,
  SIGNATURE_FAILED: 40002,
  SALT_OUT_OF_RANGE: 40003,
  UTC_EXPIRED: 40004,
  SKU_SYNC_FAILED: 50001,
  ORDER_CALLBACK_FAILED: 50002,
} as const;
export type ResultCode = (typeof ResultCode)[keyof typeof ResultCode];

export const resultMessages: Record<ResultCode, string> = {
  200: 'success',
  40000: 'request failed',
  40001: 'appid does not exist',
  40002: 'signature verification failed',
  40003: 'salt out of range',
  40004: 'utc expired',
  50001: 'sku sync failed',
  50002: 'order callback failed',
};
