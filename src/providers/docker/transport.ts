/**
 * How odoo-sh-next reaches a Docker engine, kept apart from what it does with it: docker-local uses
 * the local socket; ssh-host will pass `protocol: 'ssh'` (docker-modem's SSH transport) with the
 * same provider code on top.
 */
import Docker from 'dockerode';

export type DockerTransport =
  | {readonly kind: 'socket'; readonly socketPath?: string | undefined}
  | {readonly kind: 'ssh'; readonly host: string; readonly port?: number | undefined; readonly username?: string | undefined; readonly sshOptions?: Readonly<Record<string, unknown>>};

/** A dockerode client for the transport (no I/O happens until the first call). */
export function dockerClient(transport: DockerTransport = {kind: 'socket'}): Docker {
  if (transport.kind === 'ssh') {
    return new Docker({
      protocol: 'ssh', host: transport.host,
      ...(transport.port === undefined ? {} : {port: transport.port}),
      ...(transport.username === undefined ? {} : {username: transport.username}),
      ...(transport.sshOptions === undefined ? {} : {sshOptions: {...transport.sshOptions}}),
    });
  }
  return new Docker(transport.socketPath === undefined ? {} : {socketPath: transport.socketPath});
}
