export { DomainError } from './domain-error';
export {
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPE_PREFIX,
  readProblem,
  type OAuthErrorBody,
  type ProblemDetails,
} from './problem';
