module.exports = require('./jest-config').config(__dirname);
