import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP proxy in front of a store server, one per replica, so that one replica can be
 * cut off. `partition()` blackholes both directions: bytes are held, not dropped, and new
 * connections wait unanswered, as when packets vanish and TCP retransmits; `heal()` delivers
 * what was held, in order. A server that goes away closes the client side, and vice versa.
 */
export class TcpProxy {
  private partitioned = false;
  private readonly pending: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    /** The port replicas connect to. */
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards to `targetHost`:`targetPort`. */
  static async start(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const proxy = new TcpProxy(server, typeof address === "object" && address ? address.port : 0);
    server.on("connection", (client) => proxy.accept(client, targetHost, targetPort));
    return proxy;
  }

  /** Stops forwarding: bytes and new connections are held until {@link heal}. */
  partition(): void {
    this.partitioned = true;
  }

  /** Forwards again, first everything that was held. */
  heal(): void {
    this.partitioned = false;
    for (const deliver of this.pending.splice(0)) deliver();
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private later(action: () => void): void {
    if (this.partitioned) this.pending.push(action);
    else action();
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  }

  private accept(client: Socket, targetHost: string, targetPort: number): void {
    this.track(client);
    client.pause();
    this.later(() => {
      const upstream = connect(targetPort, targetHost);
      this.track(upstream);
      this.forward(client, upstream);
      this.forward(upstream, client);
      client.resume();
    });
  }

  private forward(from: Socket, to: Socket): void {
    from.on("data", (chunk) => this.later(() => to.write(chunk)));
    from.on("close", () => this.later(() => to.destroy()));
  }
}
