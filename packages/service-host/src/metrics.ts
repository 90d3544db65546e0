import { Controller, Get, Header, Injectable } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@tokenledger/auth';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The app's Prometheus registry: process metrics, HTTP metrics and Kafka consumer lag. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'tokenledger_consumer_lag',
    help: 'Records behind the high watermark, per consumed topic partition',
    labelNames: ['topic', 'partition'],
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'tokenledger_dead_letters_total',
    help: 'Records sent to the dead-letter topic, by consumer group, source topic and code (the reason: not-json, invalid-data, handler-failed, ...)',
    labelNames: ['consumer', 'topic', 'code'],
    registers: [this.registry],
  });
  readonly handlerFailures = new Counter({
    name: 'tokenledger_consumer_handler_failures_total',
    help: 'Failed calls of a consumer handler, by consumer group, topic and whether the error was retryable (retried without bound) or not (dead-lettered after bounded tries)',
    labelNames: ['consumer', 'topic', 'retryable'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** An app's own gauge in this registry (apps need no prom-client of their own). */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** An app's own counter in this registry. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** Times every response of this server by method, route pattern (`unmatched` for a 404) and status. */
  observe(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      this.httpDuration.observe(
        { method: request.method, route, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }
}

@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
