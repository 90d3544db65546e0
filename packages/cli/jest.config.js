module.exports = require('@tokenledger/testing/jest-config').config(__dirname, {
  infrastructure: true,
});
