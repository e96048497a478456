/** A job whose name or payload does not match the catalog; the message names the field. */
export class InvalidJobError extends Error {
  override name = 'InvalidJobError';
  constructor(
    readonly jobName: string,
    readonly detail: string,
  ) {
    super(`invalid ${jobName} job: ${detail}`);
  }
}
